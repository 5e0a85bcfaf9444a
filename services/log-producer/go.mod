module github.com/logwarden/logwarden/services/log-producer

go 1.26.0

require github.com/logwarden/logwarden/pkg v0.0.0

require (
	github.com/prometheus/client_golang v1.23.2 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	go.uber.org/multierr v1.10.0 // indirect
	go.uber.org/zap v1.28.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
)

require (
	github.com/brianvoe/gofakeit/v6 v6.28.0
	google.golang.org/protobuf v1.36.12 // indirect
)

replace github.com/logwarden/logwarden/pkg => ../../pkg
