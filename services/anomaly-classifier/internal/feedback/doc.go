// Package feedback is what people told the classifier about its alerts: the "Not an
// issue" records the notifier writes to logwarden.feedback when someone presses the
// button, read by every replica (Set.Apply, from kafkax.Admin.Follow, before the first
// event is classified).
//
// A "not an issue" accepts one pattern in one scope, derived from the alert's rule and
// its most recent evidence event:
//
//   - a command (action command or sudo, with a user): that user running a command of
//     that shape — each command the shell would start, as its program's name, its
//     options and its redirections, arguments masked (Shape);
//   - anything else: a line of that template (the miner's token masking) on that host.
//
// The service drops the alerts whose scope is accepted (Set.Accepted), after the
// engine: every detector's alerts, until the acceptance expires or is revoked
// (`anomaly-classifier feedback revoke`). Another user running the same command, or the
// same kind of line on another host, still alerts. Every acceptance, revocation and
// dropped alert is logged and counted.
package feedback
