// Package decode turns a consumed Kafka record into a parsed LogEvent, whatever
// wrote it: logwarden's own protobuf LogEvent (header lw-schema), a JSON object
// as log shippers write them (Fluent Bit "log", Vector / Filebeat / Logstash
// "message", with optional host, source and time fields), or a plain text line.
//
// Data flow: Auto looks at the record (schema header, first byte) and hands it
// to one Decoder; JSON and text lines then go through logparse, which fills
// user, ip, action, target and fields. Records that are none of these (empty,
// a broken protobuf, JSON without a message, binary garbage) give an error the
// service turns into a dead letter. Ids of events that did not carry one are
// derived from topic/partition/offset, so a redelivered record yields the same
// event id and therefore the same alerts.
package decode
