package sigma

import "strings"

// Source is where an Event comes from, in Sigma's logsource terms. Services lists every
// service name the event belongs to, comma-separated (an sshd line is also an auth and a
// syslog line: "sshd,auth,syslog").
type Source struct {
	Category string
	Product  string
	Services string
}

func (s Source) hasService(name string) bool {
	for rest := s.Services; rest != ""; {
		var x string
		x, rest, _ = strings.Cut(rest, ",")
		if x == name {
			return true
		}
	}
	return false
}

// Covers reports whether a rule with logsource l applies to events of s.
func (s Source) Covers(l Logsource) bool {
	return (l.Category == "" || l.Category == s.Category) &&
		(l.Product == "" || l.Product == s.Product) &&
		(l.Service == "" || s.hasService(l.Service))
}

// Value is one field value; its lower-case form is computed on first use.
type Value struct {
	Orig    string
	lower   string
	lowered bool
}

// Lower returns the value in lower case (computed once).
func (v *Value) Lower() string {
	if !v.lowered {
		v.lower, v.lowered = lower(v.Orig), true
	}
	return v.lower
}

type field struct {
	name string
	vals []Value
}

// Keywords is the field name under which an Event carries the text that keyword
// searches (lists of plain strings in a detection) look at.
const Keywords = ""

// Event is one record in Sigma's taxonomy. A field may have several values (argv
// words, several redirection targets): a field test holds when any value satisfies it.
// Reset it to reuse its memory.
type Event struct {
	Source Source
	fields []field
}

// Reset empties e, keeping its memory.
func (e *Event) Reset(src Source) {
	e.Source = src
	for i := range e.fields {
		e.fields[i].vals = e.fields[i].vals[:0]
	}
	e.fields = e.fields[:0]
}

// Add appends a value to a field; empty values are kept (they match ” and null).
func (e *Event) Add(name, v string) {
	val := Value{Orig: v}
	for i := range e.fields {
		if e.fields[i].name == name {
			e.fields[i].vals = append(e.fields[i].vals, val)
			return
		}
	}
	if len(e.fields) < cap(e.fields) {
		e.fields = e.fields[:len(e.fields)+1]
		f := &e.fields[len(e.fields)-1]
		f.name = name
		f.vals = append(f.vals[:0], val)
		return
	}
	e.fields = append(e.fields, field{name: name, vals: []Value{val}})
}

// Values returns the values of a field (nil when absent).
func (e *Event) Values(name string) []Value {
	for i := range e.fields {
		if e.fields[i].name == name {
			return e.fields[i].vals
		}
	}
	return nil
}

// First returns the first value of a field, "" when absent.
func (e *Event) First(name string) string {
	if v := e.Values(name); len(v) > 0 {
		return v[0].Orig
	}
	return ""
}

// Fields lists the field names present, in insertion order.
func (e *Event) Fields() []string {
	out := make([]string, len(e.fields))
	for i := range e.fields {
		out[i] = e.fields[i].name
	}
	return out
}
