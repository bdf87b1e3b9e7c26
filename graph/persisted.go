package graph

import (
	"container/list"
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/viewer"
)

// The persisted-query cache's bounds: what it may hold in all, and the
// largest query it keeps.
const (
	persistedQueryBytes    = 8 << 20
	persistedQueryMaxBytes = 64 << 10
)

// persistedQueries is automatic persisted queries (Apollo's APQ) with three
// changes to gqlgen's: only a signed-in caller registers a query (an
// anonymous one may still send its query in full, every time), queries are
// kept per tenant (whether a hash is known says nothing about what another
// tenant runs), and the cache is bounded by bytes, not entries (1,000
// entries of 1 MB each would be 1 GB). Its own mistakes (a hash that does
// not match, a malformed extension) are the client's: BAD_REQUEST.
type persistedQueries struct {
	apq extension.AutomaticPersistedQuery
}

func newPersistedQueries(maxBytes int) persistedQueries {
	return persistedQueries{apq: extension.AutomaticPersistedQuery{Cache: tenantQueries{newByteLRU(maxBytes)}}}
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = persistedQueries{}

func (p persistedQueries) ExtensionName() string { return p.apq.ExtensionName() }

func (p persistedQueries) Validate(s graphql.ExecutableSchema) error { return p.apq.Validate(s) }

func (p persistedQueries) MutateOperationParameters(ctx context.Context, params *graphql.RawParams) *gqlerror.Error {
	err := p.apq.MutateOperationParameters(ctx, params)
	if err != nil && err.Extensions["code"] == nil {
		err.Extensions = map[string]any{"code": string(apperr.BadRequest)}
	}
	return err
}

// tenantQueries keys the cache by the caller's tenant and ignores what an
// anonymous caller would register.
type tenantQueries struct{ lru *byteLRU }

func (c tenantQueries) Get(ctx context.Context, hash string) (string, bool) {
	v := viewer.FromContext(ctx)
	if v == nil {
		return "", false
	}
	return c.lru.get(v.TenantID + "/" + hash)
}

func (c tenantQueries) Add(ctx context.Context, hash, query string) {
	v := viewer.FromContext(ctx)
	if v == nil || len(query) > persistedQueryMaxBytes {
		return
	}
	c.lru.add(v.TenantID+"/"+hash, query)
}

// byteLRU is a least-recently-used map of strings holding at most maxBytes
// of keys and values.
type byteLRU struct {
	mu       sync.Mutex
	maxBytes int
	bytes    int
	order    *list.List // front: most recently used
	entries  map[string]*list.Element
}

type lruEntry struct{ key, value string }

func newByteLRU(maxBytes int) *byteLRU {
	return &byteLRU{maxBytes: maxBytes, order: list.New(), entries: map[string]*list.Element{}}
}

func (c *byteLRU) get(key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return "", false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruEntry).value, true
}

func (c *byteLRU) add(key, value string) {
	size := len(key) + len(value)
	if size > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		c.bytes -= len(key) + len(e.Value.(*lruEntry).value)
		c.order.Remove(e)
	}
	c.entries[key] = c.order.PushFront(&lruEntry{key, value})
	c.bytes += size
	for c.bytes > c.maxBytes {
		oldest := c.order.Back()
		ent := oldest.Value.(*lruEntry)
		c.order.Remove(oldest)
		delete(c.entries, ent.key)
		c.bytes -= len(ent.key) + len(ent.value)
	}
}

// size is what the cache holds, in bytes.
func (c *byteLRU) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}
