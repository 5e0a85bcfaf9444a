package llm

import (
	"errors"
	"net/url"
	"strings"

	"github.com/logwarden/logwarden/pkg/config"
)

// redactError is err's message with the URL of a failed request redacted (net/http
// hides only the password of the URL it names; a token as user name or in the query
// would be logged).
func redactError(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) && ue.URL != "" {
		msg = strings.ReplaceAll(msg, ue.URL, config.RedactURL(ue.URL))
	}
	return msg
}
