// Package notify holds the Notification, the unit of delivery the grouping stage hands to
// the sinks: one message about one group of alerts.
package notify
