// Package service is the notifier's Kafka service: Run creates the topics, serves the
// ops endpoints and keeps one consumer-group member running (replacing it when it
// fails), whose Handler turns each record of the alerts topic into an alert for the
// delivery pipeline (package deliver) or, when it is not a logwarden.v1.Alert, into a
// dead letter with the reason. Each alert travels with its receipt: acknowledged once
// the notification covering it was accepted, dead-lettered once it was refused for good.
package service
