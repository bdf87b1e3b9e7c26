package sim

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"
)

// ids makes the identifiers Meta hands out. They stay unique across restarts
// of the simulator, since a consumer may keep them (idempotent ingest on the
// wamid).
type ids struct {
	run   string // random, per simulator
	start int64  // unix seconds at start, for numeric Graph ids
	n     atomic.Uint64
}

func newIDs() ids { return ids{run: rand.Text()[:10], start: time.Now().Unix()} }

func (g *ids) next() uint64 { return g.n.Add(1) }

// wamid looks like Meta's: base64 behind "wamid.".
func (g *ids) wamid() string {
	return "wamid." + base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "HBgL%s%010X", g.run, g.next()))
}

// graphID is a numeric Graph API node id, as media ids are.
func (g *ids) graphID() string { return strconv.FormatInt(g.start, 10) + fmt.Sprintf("%07d", g.next()) }

// groupID looks like Meta's group ids: base64 of "capi_group:...".
func (g *ids) groupID(display string) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "capi_group:%s:%s%d", display, g.run, g.next()))
}

// token is an opaque random string: invite codes, request and trace ids.
func (g *ids) token() string { return rand.Text()[:22] }
