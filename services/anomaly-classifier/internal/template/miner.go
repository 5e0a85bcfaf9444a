package template

import (
	"container/list"
	"encoding/hex"
	"fmt"
	"hash/fnv"
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
func DefaultConfig() Config { return Config{MaxClusters: 10000, Similarity: 0.6, Depth: 2} }

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

type cluster struct {
	id     string
	tokens []string
	gen    []bool // positions generalised by merging (not masked values)
	count  int64
	leaf   *node
	elem   *list.Element
	text   string // cached template text; "" when stale
}

type node struct {
	children map[string]*node
	clusters []*cluster
}

// Miner mines templates. Not safe for concurrent use.
type Miner struct {
	cfg  Config
	root map[int]*node // by token count
	lru  *list.List    // front = most recent; values *cluster
	buf  []string
}

// New returns a Miner; cfg must be valid.
func New(cfg Config) *Miner {
	return &Miner{cfg: cfg, root: map[int]*node{}, lru: list.New()}
}

// Len is the number of templates held.
func (m *Miner) Len() int { return m.lru.Len() }

// Add assigns line to a template.
func (m *Miner) Add(line string) Match {
	toks := Mask(line, m.buf[:0])
	m.buf = toks
	leaf := m.leaf(toks)
	best, bestSim := (*cluster)(nil), -1.0
	for _, c := range leaf.clusters {
		sim := similarity(c, toks)
		if sim > bestSim {
			best, bestSim = c, sim
		}
	}
	if best != nil && bestSim >= m.cfg.Similarity {
		for i, t := range toks {
			if best.tokens[i] != t && !best.gen[i] {
				best.tokens[i] = Wildcard
				best.gen[i] = true
				best.text = ""
			}
		}
		best.count++
		m.lru.MoveToFront(best.elem)
		return Match{ID: best.id, Template: best.template(), Count: best.count}
	}
	c := &cluster{tokens: append([]string(nil), toks...), gen: make([]bool, len(toks)), count: 1, leaf: leaf}
	c.text = strings.Join(c.tokens, " ")
	h := fnv.New64a()
	h.Write([]byte(c.text))
	c.id = hex.EncodeToString(h.Sum(nil))
	c.elem = m.lru.PushFront(c)
	leaf.clusters = append(leaf.clusters, c)
	if m.lru.Len() > m.cfg.MaxClusters {
		m.evict(m.lru.Back().Value.(*cluster))
	}
	return Match{ID: c.id, Template: c.text, New: true, Count: 1}
}

func (c *cluster) template() string {
	if c.text == "" {
		c.text = strings.Join(c.tokens, " ")
	}
	return c.text
}

func (m *Miner) evict(c *cluster) {
	m.lru.Remove(c.elem)
	cs := c.leaf.clusters
	for i, x := range cs {
		if x == c {
			cs[i] = cs[len(cs)-1]
			cs[len(cs)-1] = nil
			c.leaf.clusters = cs[:len(cs)-1]
			break
		}
	}
}

func (m *Miner) leaf(toks []string) *node {
	n := m.root[len(toks)]
	if n == nil {
		n = &node{}
		m.root[len(toks)] = n
	}
	for i := 0; i < m.cfg.Depth && i < len(toks); i++ {
		key := toks[i]
		if hasDigit(key) {
			key = Wildcard
		}
		if n.children == nil {
			n.children = map[string]*node{}
		}
		child := n.children[key]
		if child == nil {
			if len(n.children) >= 100 { // bounded fan-out: overflow goes to the wildcard branch
				key = Wildcard
				child = n.children[key]
			}
			if child == nil {
				child = &node{}
				n.children[key] = child
			}
		}
		n = child
	}
	return n
}

// maskedWeight is what a masked value equal in line and template counts for:
// less than a word (it tells little), more than nothing (lines that are mostly
// values still group).
const maskedWeight = 0.5

// similarity is the share of tokens equal to the template's, positions the
// template generalised by merging not counted (as in Drain); masked values
// (<*> in both) count maskedWeight.
func similarity(c *cluster, toks []string) float64 {
	if len(toks) == 0 {
		return 1
	}
	same := 0.0
	for i, t := range toks {
		if !c.gen[i] && c.tokens[i] == t {
			if t == Wildcard {
				same += maskedWeight
			} else {
				same++
			}
		}
	}
	return same / float64(len(toks))
}

func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			return true
		}
	}
	return false
}
