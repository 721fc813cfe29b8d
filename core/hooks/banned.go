package hooks

import (
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/manifold-iot/manifold/core"
)

// Ban kinds: what a Ban's Who is compared with (EMQX's "as").
const (
	BanClientID = "clientid"
	BanUsername = "username"
	BanPeerhost = "peerhost"
)

// Ban is one entry of the banned list.
type Ban struct {
	As     string    // BanClientID, BanUsername or BanPeerhost
	Who    string    // the client id, username or IP address
	By     string    // who banned it
	Reason string    // why
	At     time.Time // when
	Until  time.Time // when it ends; zero never
}

// Errors of the banned list.
var (
	ErrBanKind   = errors.New("hooks: banned: as must be clientid, username or peerhost")
	ErrBanExists = errors.New("hooks: banned: already banned")
	ErrBanFull   = errors.New("hooks: banned: list full")
)

// MaxBans bounds the banned list.
const MaxBans = 100000

// Banned is the banned list as an Authenticator: a client whose client id,
// username or peer address is banned is denied before any other
// authenticator runs (put it first in Chain.Authenticators). It is safe for
// concurrent use; the list is kept in memory.
type Banned struct {
	mu   sync.RWMutex
	bans map[[2]string]Ban // guarded by mu; keyed by {As, Who}
	now  func() time.Time
}

// NewBanned returns an empty banned list.
func NewBanned() *Banned { return &Banned{bans: map[[2]string]Ban{}, now: time.Now} }

// Name identifies the provider.
func (b *Banned) Name() string { return "banned" }

// Authenticate denies a banned client and ignores everyone else.
func (b *Banned) Authenticate(c *core.ClientInfo, _ []byte) Decision {
	if b.IsBanned(c) {
		return Deny
	}
	return Ignore
}

// IsBanned reports whether a live ban matches the client.
func (b *Banned) IsBanned(c *core.ClientInfo) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if len(b.bans) == 0 {
		return false
	}
	now := b.now()
	keys := [][2]string{{BanClientID, c.ClientID}}
	if c.Username != "" {
		keys = append(keys, [2]string{BanUsername, c.Username})
	}
	if c.Peer.IsValid() {
		keys = append(keys, [2]string{BanPeerhost, c.Peer.Addr().Unmap().String()})
	}
	for _, k := range keys {
		if ban, ok := b.bans[k]; ok && (ban.Until.IsZero() || now.Before(ban.Until)) {
			return true
		}
	}
	return false
}

// Add bans; an existing live ban of the same As and Who is ErrBanExists.
func (b *Banned) Add(ban Ban) error {
	switch ban.As {
	case BanClientID, BanUsername, BanPeerhost:
	default:
		return ErrBanKind
	}
	if ban.At.IsZero() {
		ban.At = b.now()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	k := [2]string{ban.As, ban.Who}
	if old, ok := b.bans[k]; ok && (old.Until.IsZero() || b.now().Before(old.Until)) {
		return ErrBanExists
	}
	if len(b.bans) >= MaxBans {
		b.pruneLocked()
		if len(b.bans) >= MaxBans {
			return ErrBanFull
		}
	}
	b.bans[k] = ban
	return nil
}

// Delete lifts a ban and reports whether there was one.
func (b *Banned) Delete(as, who string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := [2]string{as, who}
	_, ok := b.bans[k]
	delete(b.bans, k)
	return ok
}

// List returns the live bans sorted by As then Who; expired ones are removed.
func (b *Banned) List() []Ban {
	b.mu.Lock()
	b.pruneLocked()
	out := make([]Ban, 0, len(b.bans))
	for _, ban := range b.bans {
		out = append(out, ban)
	}
	b.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].As != out[j].As {
			return out[i].As < out[j].As
		}
		return out[i].Who < out[j].Who
	})
	return out
}

// pruneLocked drops expired bans; caller holds mu.
func (b *Banned) pruneLocked() {
	now := b.now()
	for k, ban := range b.bans {
		if !ban.Until.IsZero() && !now.Before(ban.Until) {
			delete(b.bans, k)
		}
	}
}
