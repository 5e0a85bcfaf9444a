package template

import (
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
)

// Wildcard is the token that stands for a variable part.
const Wildcard = "<*>"

// Config configures a Miner.
type Config struct {
	MaxClusters int     `mapstructure:"max_clusters" desc:"most templates kept (least recently used evicted)"`
	Similarity  float64 `mapstructure:"similarity" desc:"share of equal tokens (0..1) for a line to join a template"`
	Depth       int     `mapstructure:"depth" desc:"prefix tree depth: leading tokens used to route a line"`
}

// DefaultConfig returns the configuration used everywhere (Loghub included).
func DefaultConfig() Config { return Config{MaxClusters: 10000, Similarity: 0.4, Depth: 2} }

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	switch {
	case c.MaxClusters < 1:
		return fmt.Errorf("template.max_clusters: must be ≥ 1, got %d", c.MaxClusters)
	case c.Similarity <= 0 || c.Similarity > 1:
		return fmt.Errorf("template.similarity: must be in (0,1], got %g", c.Similarity)
	case c.Depth < 1 || c.Depth > 16:
		return fmt.Errorf("template.depth: must be in 1..16, got %d", c.Depth)
	}
	return nil
}

// Match is the outcome of Add.
type Match struct {
	ID       string // stable template id
	Template string // current template text
	New      bool   // the line created the template
	Count    int64  // lines seen by the template, this one included
}

// Stats are the miner's counters; all but Templates only grow.
type Stats struct {
	Templates int    // templates held now
	Lines     uint64 // lines added
	Created   uint64 // templates created
	Evicted   uint64 // templates evicted to stay within MaxClusters
}

type cluster struct {
	id    string
	text  string     // template text; "" when stale
	forms []string   // tokens
	pos   []position // what similarity compares, by position (contiguous)
	count int64
	leaf  *node
	prev  *cluster // more recently used
	next  *cluster // less recently used
}

// position is what the similarity needs of one template token.
type position struct {
	hash uint64 // token.hash of the form (of Wildcard when gen)
	key  uint64 // token.key of the form
	gen  bool   // generalised by merging lines (not a masked value)
	caps bool   // a word in capitals
}

type node struct {
	parent   *node
	key      uint64
	children map[uint64]*node
	clusters []*cluster
}

// maxChildren bounds a tree node's fan-out: further tokens go to the wildcard branch.
const maxChildren = 100

// Weights in the similarity: an equal word or an equal masked value counts 1
// (a masked value is a token of its own, as Drain3's <NUM>); a position the
// template generalised counts nothing (as in Drain), so a template cannot
// absorb lines that share none of its words.
const (
	maskedWeight = 1.0
	genWeight    = 0.0
)

// Miner mines templates. Not safe for concurrent use.
type Miner struct {
	cfg        Config
	roots      [maxTokens + 1]*node // by token count
	head, tail *cluster             // least recently used at tail
	sc         scanner
	stats      Stats
}

// New returns a Miner; cfg must be valid.
func New(cfg Config) *Miner {
	return &Miner{cfg: cfg, sc: newScanner()}
}

// Len is the number of templates held.
func (m *Miner) Len() int { return m.stats.Templates }

// Stats returns the miner's counters.
func (m *Miner) Stats() Stats { return m.stats }

// Add assigns line to a template.
func (m *Miner) Add(line string) Match {
	toks := m.sc.scan(line)
	m.stats.Lines++
	var best *cluster
	bestSim := -1.0
	if leaf := m.find(toks); leaf != nil {
		n := float64(len(toks))
		for _, c := range leaf.clusters {
			if sim := similarity(c, toks, max(m.cfg.Similarity, bestSim)*n); sim > bestSim {
				best, bestSim = c, sim
			}
		}
	}
	if best == nil || bestSim < m.cfg.Similarity {
		c := m.create(toks, m.sc.buf)
		return Match{ID: c.id, Template: c.text, New: true, Count: 1}
	}
	for i := range toks {
		if p := &best.pos[i]; !p.gen && p.hash != toks[i].hash {
			p.gen = true
			p.hash = m.sc.wild
			best.forms[i] = generalise(best.forms[i], p.key != 0 && p.key == toks[i].key)
			best.text = ""
		}
	}
	best.count++
	m.touch(best)
	return Match{ID: best.id, Template: best.template(), Count: best.count}
}

// similarity is the weighted share of positions where line and template are
// equal, or -1 when the line cannot join the template whatever the
// threshold: two neighbouring words differ (a value is one token, so two
// differing words in a row are other wording: "Bye Bye" / "disconnected by"),
// or a word in capitals differs from one in capitals (names of states,
// protocols, methods: LOOKING/LEADING, HTTPS/SOCKS5). It also gives up (-1)
// as soon as the weighted count of equal positions cannot reach need.
func similarity(c *cluster, toks []token, need float64) float64 {
	if len(toks) == 0 {
		return 1
	}
	same := 0.0
	prevDiff := false
	pos := c.pos[:len(toks)]
	for i := range toks {
		diff := false
		p := &pos[i]
		switch {
		case p.gen:
			same += genWeight
		case p.hash != toks[i].hash:
			if p.key != 0 && p.key == toks[i].key {
				break // the same key with another value
			}
			if prevDiff || p.caps && toks[i].kind&kindCaps != 0 {
				return -1
			}
			diff = true
		case toks[i].kind&kindPure != 0:
			same += maskedWeight
		default:
			same++
		}
		if same+float64(len(toks)-i-1) < need {
			return -1
		}
		prevDiff = diff
	}
	return same / float64(len(toks))
}

// generalise is the form of a position where lines differ: Wildcard, or
// "key=<*>" when they share the key.
func generalise(form string, keep bool) string {
	if keep {
		if k := strings.IndexAny(form, "=:"); k > 0 {
			return form[:k+1] + Wildcard
		}
	}
	return Wildcard
}

func (c *cluster) template() string {
	if c.text == "" && len(c.forms) > 0 {
		c.text = strings.Join(c.forms, " ")
	}
	return c.text
}

// routeKey is a token's branch in the prefix tree: values ("<*>", "[<*>]")
// and words glued to a number ("eth<*>", "jamie<*>": often names) share
// one, so they never split lines before they are compared.
func (m *Miner) routeKey(t token) uint64 {
	if t.kind&(kindPure|kindGlued) != 0 {
		return m.sc.wild
	}
	return t.hash
}

// find returns the leaf for toks, or nil if there is none yet.
func (m *Miner) find(toks []token) *node {
	n := m.roots[len(toks)]
	for i := 0; n != nil && i < m.cfg.Depth && i < len(toks); i++ {
		child := n.children[m.routeKey(toks[i])]
		if child == nil {
			child = n.children[m.sc.wild]
		}
		n = child
	}
	return n
}

// leaf returns the leaf for a new template with the given route keys,
// creating the path.
func (m *Miner) leaf(keys func(i int) uint64, length int) *node {
	n := m.roots[length]
	if n == nil {
		n = &node{key: uint64(length)}
		m.roots[length] = n
	}
	for i := 0; i < m.cfg.Depth && i < length; i++ {
		key := keys(i)
		child := n.children[key]
		if child == nil && key != m.sc.wild && len(n.children) >= maxChildren {
			key = m.sc.wild
			child = n.children[key]
		}
		if child == nil {
			if n.children == nil {
				n.children = map[uint64]*node{}
			}
			child = &node{parent: n, key: key}
			n.children[key] = child
		}
		n = child
	}
	return n
}

// create makes a template of toks (forms in buf) and makes room for it.
func (m *Miner) create(toks []token, buf []byte) *cluster {
	var b strings.Builder
	size := len(toks)
	for _, t := range toks {
		size += int(t.end - t.off)
	}
	b.Grow(size)
	for i, t := range toks {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.Write(buf[t.off:t.end])
	}
	text := b.String()
	c := &cluster{
		text:  text,
		forms: make([]string, len(toks)),
		pos:   make([]position, len(toks)),
		count: 1,
	}
	pos := 0
	for i, t := range toks {
		l := int(t.end - t.off)
		c.forms[i] = text[pos : pos+l]
		c.pos[i] = position{hash: t.hash, key: t.key, caps: t.kind&kindCaps != 0}
		pos += l + 1
	}
	c.id = templateID(text)
	c.leaf = m.leaf(func(i int) uint64 { return m.routeKey(toks[i]) }, len(toks))
	m.stats.Created++
	m.insert(c)
	return c
}

// templateID is the first 16 hex digits of the FNV-1a 64 hash of text.
func templateID(text string) string {
	h := uint64(14695981039346656037)
	for i := 0; i < len(text); i++ {
		h ^= uint64(text[i])
		h *= 1099511628211
	}
	var b [8]byte
	for i := range b {
		b[i] = byte(h >> (56 - 8*i))
	}
	return hex.EncodeToString(b[:])
}

// insert adds c (its leaf set) as the most recently used template and evicts
// the least recently used beyond MaxClusters.
func (m *Miner) insert(c *cluster) {
	c.leaf.clusters = append(c.leaf.clusters, c)
	c.next = m.head
	if m.head != nil {
		m.head.prev = c
	}
	m.head = c
	if m.tail == nil {
		m.tail = c
	}
	m.stats.Templates++
	for m.stats.Templates > m.cfg.MaxClusters {
		m.evict(m.tail)
		m.stats.Evicted++
	}
}

// touch makes c the most recently used template.
func (m *Miner) touch(c *cluster) {
	if m.head == c {
		return
	}
	m.unlink(c)
	c.next = m.head
	m.head.prev = c
	m.head = c
	if m.tail == nil {
		m.tail = c
	}
}

func (m *Miner) unlink(c *cluster) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		m.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		m.tail = c.prev
	}
	c.prev, c.next = nil, nil
}

// evict removes c, and the tree nodes it leaves empty.
func (m *Miner) evict(c *cluster) {
	m.unlink(c)
	m.stats.Templates--
	n := c.leaf
	cs := n.clusters
	for i, x := range cs {
		if x == c {
			copy(cs[i:], cs[i+1:])
			cs[len(cs)-1] = nil
			n.clusters = cs[:len(cs)-1]
			break
		}
	}
	for n.parent != nil && len(n.clusters) == 0 && len(n.children) == 0 {
		delete(n.parent.children, n.key)
		n = n.parent
	}
	if n.parent == nil && len(n.clusters) == 0 && len(n.children) == 0 {
		m.roots[n.key] = nil // a root's key is its token count
	}
	c.leaf = nil
}

// TemplateState is one template as Snapshot exports it and Restore reads it
// back: what a restart needs to keep template ids and counts.
type TemplateState struct {
	ID       string `json:"id"`
	Template string `json:"template"` // tokens joined by single spaces
	// Generalised are the token positions that became <*> (or key=<*>)
	// because lines differed there, as opposed to masked values.
	Generalised []int `json:"generalised,omitempty"`
	Count       int64 `json:"count"`
}

// Snapshot returns the templates held, most recently used first. It is
// cheap: one small struct per template, the strings are shared.
func (m *Miner) Snapshot() []TemplateState {
	out := make([]TemplateState, 0, m.stats.Templates)
	for c := m.head; c != nil; c = c.next {
		st := TemplateState{ID: c.id, Template: c.template(), Count: c.count}
		for i, p := range c.pos {
			if p.gen {
				st.Generalised = append(st.Generalised, i)
			}
		}
		out = append(out, st)
	}
	return out
}

// Restore replaces the miner's templates by states, most recently used
// first as Snapshot returns them; beyond MaxClusters the least recent are
// dropped. A template is placed as if its line had just been added, so lines
// find it again under the same configuration. The states are checked first:
// on an error (naming the bad state) the miner is unchanged. The counters of
// Stats other than Templates are not touched.
func (m *Miner) Restore(states []TemplateState) error {
	if len(states) > m.cfg.MaxClusters {
		states = states[:m.cfg.MaxClusters]
	}
	built := make([]*cluster, len(states))
	for k, st := range states {
		c, err := m.restored(st)
		if err != nil {
			return fmt.Errorf("template state %d (%q): %w", k, st.ID, err)
		}
		built[k] = c
	}
	m.roots = [maxTokens + 1]*node{}
	m.head, m.tail = nil, nil
	m.stats.Templates = 0
	for k := len(built) - 1; k >= 0; k-- {
		c := built[k]
		m.place(c)
		m.insert(c)
	}
	return nil
}

// restored builds (without placing it) the template of st.
func (m *Miner) restored(st TemplateState) (*cluster, error) {
	if st.ID == "" {
		return nil, fmt.Errorf("empty id")
	}
	if st.Count < 1 {
		return nil, fmt.Errorf("count %d, want ≥ 1", st.Count)
	}
	var forms []string
	if st.Template != "" {
		forms = strings.Split(st.Template, " ")
	}
	if len(forms) > maxTokens {
		return nil, fmt.Errorf("%d tokens, at most %d", len(forms), maxTokens)
	}
	c := &cluster{
		id:    st.ID,
		text:  st.Template,
		forms: forms,
		pos:   make([]position, len(forms)),
		count: st.Count,
	}
	for i, f := range forms {
		if f == "" || strings.ContainsAny(f, " \t\n\r\v\f") {
			return nil, fmt.Errorf("token %d is empty or holds white space", i)
		}
		c.pos[i] = position{
			hash: maphash.String(m.sc.seed, f),
			key:  m.sc.keyHash([]byte(f)),
			caps: !strings.Contains(f, Wildcard) && isCaps(trimPunct(f)),
		}
	}
	for _, i := range st.Generalised {
		if i < 0 || i >= len(forms) {
			return nil, fmt.Errorf("generalised position %d out of range", i)
		}
		c.pos[i].gen = true
		c.pos[i].hash = m.sc.wild
	}
	return c, nil
}

// isPureForm: a form of values and punctuation only ("<*>", "[<*>],").
func isPureForm(f string) bool {
	rest := strings.ReplaceAll(f, Wildcard, "")
	if len(rest) == len(f) {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := charClass[rest[i]]; c&(cDigit|cLower|cUpper) != 0 || rest[i] >= 0x80 {
			return false
		}
	}
	return true
}

// isGluedForm: a form with a word glued to a value ("eth<*>").
func isGluedForm(f string) bool {
	for k := strings.Index(f, Wildcard); k >= 0; {
		if k > 0 && charClass[f[k-1]]&(cLower|cUpper) != 0 {
			return true
		}
		n := strings.Index(f[k+1:], Wildcard)
		if n < 0 {
			break
		}
		k += 1 + n
	}
	return false
}

// Merge adds templates another miner exported (Snapshot) to this one and returns how
// many it did not hold. A template it holds (same id) keeps the larger count and
// becomes generalised where the other one is (same number of tokens); a new one is
// placed as Restore places it, as the least recently used, and only while the miner
// holds fewer than MaxClusters (its own templates are never evicted for another
// miner's). An invalid state is skipped and reported in the error; the others are
// merged. The merge is commutative and idempotent within MaxClusters.
func (m *Miner) Merge(states []TemplateState) (added int, err error) {
	held := make(map[string]*cluster, m.stats.Templates)
	for c := m.head; c != nil; c = c.next {
		held[c.id] = c
	}
	var errs []error
	for k, st := range states {
		if c := held[st.ID]; c != nil {
			c.count = max(c.count, st.Count)
			m.generalise(c, st)
			continue
		}
		if m.stats.Templates >= m.cfg.MaxClusters {
			continue
		}
		c, cerr := m.restored(st)
		if cerr != nil {
			if len(errs) < 3 {
				errs = append(errs, fmt.Errorf("template state %d (%q): %w", k, st.ID, cerr))
			}
			continue
		}
		m.place(c)
		m.insertLast(c)
		held[c.id] = c
		added++
	}
	return added, errors.Join(errs...)
}

// generalise makes c generalised where st (the same template in another miner) is.
func (m *Miner) generalise(c *cluster, st TemplateState) {
	var forms []string
	for _, i := range st.Generalised {
		if i < 0 || i >= len(c.pos) || c.pos[i].gen {
			continue
		}
		if forms == nil {
			if forms = strings.Split(st.Template, " "); len(forms) != len(c.forms) {
				return
			}
		}
		if f := forms[i]; f != "" && !strings.ContainsAny(f, " \t\n\r\v\f") {
			c.pos[i].gen, c.pos[i].hash = true, m.sc.wild
			c.forms[i], c.text = f, ""
		}
	}
}

// place sets c's leaf as Restore does: generalised, value and glued forms route to the
// wildcard branch.
func (m *Miner) place(c *cluster) {
	keys := make([]uint64, 0, m.cfg.Depth)
	for i := 0; i < m.cfg.Depth && i < len(c.forms); i++ {
		if f := c.forms[i]; c.pos[i].gen || isPureForm(f) || isGluedForm(f) {
			keys = append(keys, m.sc.wild)
		} else {
			keys = append(keys, c.pos[i].hash)
		}
	}
	c.leaf = m.leaf(func(i int) uint64 { return keys[i] }, len(c.forms))
}

// insertLast adds c as the least recently used template (the miner has room for it).
func (m *Miner) insertLast(c *cluster) {
	c.leaf.clusters = append(c.leaf.clusters, c)
	c.prev = m.tail
	if m.tail != nil {
		m.tail.next = c
	}
	m.tail = c
	if m.head == nil {
		m.head = c
	}
	m.stats.Templates++
}
