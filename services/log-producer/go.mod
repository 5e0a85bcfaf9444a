module github.com/logwarden/logwarden/services/log-producer

go 1.26.0

require github.com/logwarden/logwarden/pkg v0.0.0

require (
	github.com/brianvoe/gofakeit/v6 v6.28.0
	google.golang.org/protobuf v1.36.12 // indirect
)

replace github.com/logwarden/logwarden/pkg => ../../pkg
