package event

import (
	"crypto/rand"
	"encoding/binary"
	"io"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// EntityKey is who an event is about, the Kafka key of logs.raw: the user, else the host,
// else the source. All events of one entity land on one partition, so one classifier
// replica sees them all.
func EntityKey(ev *logwardenpb.LogEvent) string {
	switch {
	case ev.GetUser() != "":
		return ev.GetUser()
	case ev.GetHost() != "":
		return ev.GetHost()
	}
	return ev.GetSource()
}

// crockford is the ULID alphabet: sortable, no I, L, O, U.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// IDLen is the length of an id from NewID.
const IDLen = 26

// NewID returns a ULID-like id: 48 bits of Unix milliseconds then 80 random bits from
// crypto/rand, in 26 characters of Crockford base32. Ids sort by creation time (to the
// millisecond) and do not collide in practice.
func NewID() string {
	return NewIDFrom(time.Now(), rand.Reader)
}

// NewIDFrom is NewID with the time and the entropy source given (a seeded source makes
// ids reproducible). If entropy fails, the random part is zero.
func NewIDFrom(t time.Time, entropy io.Reader) string {
	var random [10]byte
	_, _ = io.ReadFull(entropy, random[:])
	return NewIDWith(t, random)
}

// NewIDWith is NewIDFrom with the random part given (no allocation but the id's).
func NewIDWith(t time.Time, random [10]byte) string {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	binary.BigEndian.PutUint16(b[0:2], uint16(ms>>32))
	binary.BigEndian.PutUint32(b[2:6], uint32(ms))
	copy(b[6:], random[:])
	return encode(b)
}

// encode writes 128 bits as 26 base32 characters (the first carries 3 bits).
func encode(b [16]byte) string {
	hi := binary.BigEndian.Uint64(b[0:8])
	lo := binary.BigEndian.Uint64(b[8:16])
	var out [IDLen]byte
	for i := IDLen - 1; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}
