package detect

import "crypto/rand"

// Hasher makes keyed 64-bit hashes that survive a restart: the key is part of the
// saved state (unlike hash/maphash seeds), so hashes written by one process are
// found by the next. Keyed, so log content cannot choose values that collide with a
// known one without knowing the key (FNV-1a over key and data; not a MAC, a
// barrier against cheap collisions).
type Hasher struct {
	key  []byte
	init uint64
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// NewHasher returns a hasher with a random 16-byte key.
func NewHasher() *Hasher {
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	h := &Hasher{}
	h.SetKey(key)
	return h
}

// Key is the hasher's key (for saving).
func (h *Hasher) Key() []byte { return append([]byte(nil), h.key...) }

// SetKey replaces the key (when restoring a state: its hashes were made with it).
func (h *Hasher) SetKey(key []byte) {
	h.key = append([]byte(nil), key...)
	x := uint64(fnvOffset)
	for _, b := range h.key {
		x ^= uint64(b)
		x *= fnvPrime
	}
	h.init = x
}

// Hash64 is one hash being computed.
type Hash64 struct{ x uint64 }

// Start begins a hash.
func (h *Hasher) Start() Hash64 { return Hash64{h.init} }

// String adds s.
func (s *Hash64) String(v string) {
	x := s.x
	for i := 0; i < len(v); i++ {
		x ^= uint64(v[i])
		x *= fnvPrime
	}
	s.x = x
}

// Bytes adds v (as String(string(v)) would, without the copy).
func (s *Hash64) Bytes(v []byte) {
	x := s.x
	for i := 0; i < len(v); i++ {
		x ^= uint64(v[i])
		x *= fnvPrime
	}
	s.x = x
}

// Byte adds b (a separator between parts).
func (s *Hash64) Byte(b byte) {
	s.x ^= uint64(b)
	s.x *= fnvPrime
}

// Sum is the hash.
func (s *Hash64) Sum() uint64 { return s.x }
