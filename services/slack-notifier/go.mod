module github.com/logwarden/logwarden/services/slack-notifier

go 1.26

require github.com/logwarden/logwarden/pkg v0.0.0

replace github.com/logwarden/logwarden/pkg => ../../pkg
