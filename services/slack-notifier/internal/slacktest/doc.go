// Package slacktest is a local Slack for tests: an httptest server that answers like an
// incoming webhook (status + plain-text body) and like the Web API (chat.postMessage,
// chat.update: HTTP 200 + {"ok":…}), scriptable per test, recording every request.
package slacktest
