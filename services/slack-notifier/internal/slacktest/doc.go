// Package slacktest is a local Slack for tests: an httptest server that answers like an
// incoming webhook (status + plain-text body) and like the Web API (chat.postMessage,
// chat.update, chat.postEphemeral, conversations.members, apps.connections.open: HTTP
// 200 + {"ok":…}), scriptable per test, recording every request.
//
// It also speaks Socket Mode: apps.connections.open (with an app-level xapp- token)
// answers a ws:// URL whose WebSocket sends "hello", pings the client every second and
// sends the envelopes a test asks for (Click builds a block_actions one as Slack does),
// waiting for the client's acknowledgement (its envelope_id).
package slacktest
