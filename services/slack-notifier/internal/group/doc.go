// Package group gathers alerts into notifications the way Alertmanager does: alerts with
// the same group_by labels wait group_wait before the first message, follow-ups are sent
// at most every group_interval, and a group quiet for repeat_interval closes. Alert ids
// seen before are dropped. The package has no clock of its own: callers pass the time.
package group
