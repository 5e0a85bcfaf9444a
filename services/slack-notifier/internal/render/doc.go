// Package render turns a Notification into Slack Block Kit, a plain-text block for the
// terminal and generic JSON, escaping all log-derived text so that it cannot mention
// anyone, forge a link or break out of a code block.
package render
