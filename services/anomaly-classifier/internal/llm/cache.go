package llm

import (
	"container/list"
	"sync"
	"time"
)

// cache keeps the model's judgement per template id: bounded (least recently
// used goes first) and with a TTL, so a template is asked about again after a
// while. Safe for concurrent use.
type cache struct {
	size int
	ttl  time.Duration

	mu    sync.Mutex
	ll    *list.List // front = most recently used; values are *cacheEntry
	items map[string]*list.Element
}

type cacheEntry struct {
	key     string
	value   judgement
	expires time.Time
}

func newCache(size int, ttl time.Duration) *cache {
	return &cache{size: size, ttl: ttl, ll: list.New(), items: make(map[string]*list.Element, min(size, 1024))}
}

func (c *cache) get(now time.Time, key string) (judgement, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return judgement{}, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) {
		c.ll.Remove(el)
		delete(c.items, key)
		return judgement{}, false
	}
	c.ll.MoveToFront(el)
	return e.value, true
}

func (c *cache) put(now time.Time, key string, v judgement) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		e := el.Value.(*cacheEntry)
		e.value, e.expires = v, now.Add(c.ttl)
		c.ll.MoveToFront(el)
		return
	}
	c.items[key] = c.ll.PushFront(&cacheEntry{key: key, value: v, expires: now.Add(c.ttl)})
	for c.ll.Len() > c.size {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.items, last.Value.(*cacheEntry).key)
	}
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
