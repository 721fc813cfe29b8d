package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/manifold-iot/manifold/core/hooks"
)

func (a *API) registerBanned() {
	a.handle("GET", Prefix+"/banned", "banned", "List bans (page, limit)", false, a.listBanned)
	a.handle("POST", Prefix+"/banned", "banned", "Ban a clientid, username or peerhost (a banned client id is kicked)", false, a.addBan)
	a.handle("DELETE", Prefix+"/banned/{as}/{who}", "banned", "Lift a ban", false, a.deleteBan)
}

type banJSON struct {
	As     string `json:"as"`
	Who    string `json:"who"`
	By     string `json:"by"`
	Reason string `json:"reason"`
	At     string `json:"at"`
	Until  string `json:"until"` // "infinity" when it never ends
}

func banView(b hooks.Ban) banJSON {
	until := "infinity"
	if !b.Until.IsZero() {
		until = rfc3339(b.Until)
	}
	return banJSON{As: b.As, Who: b.Who, By: b.By, Reason: b.Reason, At: rfc3339(b.At), Until: until}
}

func (a *API) listBanned(w http.ResponseWriter, r *http.Request) {
	page, limit, ok := paging(w, r)
	if !ok {
		return
	}
	bans := a.node.Banned().List()
	out := make([]banJSON, len(bans))
	for i, b := range bans {
		out[i] = banView(b)
	}
	writePage(w, out, page, limit)
}

func (a *API) addBan(w http.ResponseWriter, r *http.Request) {
	var req banJSON
	if !decode(w, r, &req) {
		return
	}
	if req.Who == "" {
		badRequest(w, "who required")
		return
	}
	b := hooks.Ban{As: req.As, Who: req.Who, By: req.By, Reason: req.Reason}
	if b.By == "" {
		b.By = "api"
		if p := principalOf(r); p.username != "" {
			b.By = p.username
		}
	}
	if b.As == hooks.BanPeerhost {
		ip, err := netip.ParseAddr(b.Who)
		if err != nil {
			badRequest(w, "who must be an IP address for as=peerhost")
			return
		}
		b.Who = ip.Unmap().String()
	}
	for _, f := range []struct {
		s  string
		to *time.Time
	}{{req.At, &b.At}, {req.Until, &b.Until}} {
		if f.s == "" || f.s == "infinity" {
			continue
		}
		t, err := time.Parse(time.RFC3339, f.s)
		if err != nil {
			badRequest(w, "at and until must be RFC 3339 times")
			return
		}
		*f.to = t
	}
	if !b.Until.IsZero() && b.Until.Before(time.Now()) {
		badRequest(w, "until is in the past")
		return
	}
	switch err := a.node.Banned().Add(b); {
	case errors.Is(err, hooks.ErrBanExists):
		writeError(w, http.StatusConflict, "ALREADY_EXISTS", "already banned")
		return
	case err != nil:
		badRequest(w, "%v", err)
		return
	}
	a.saveBanned()
	if b.As == hooks.BanClientID {
		a.node.Broker().Kick(b.Who, ErrKicked)
	}
	a.log.Info().Str("as", b.As).Str("who", b.Who).Str("by", b.By).Msg("api_banned")
	writeJSON(w, http.StatusOK, banView(b))
}

func (a *API) deleteBan(w http.ResponseWriter, r *http.Request) {
	as, who := r.PathValue("as"), r.PathValue("who")
	if !a.node.Banned().Delete(as, who) {
		notFound(w, "NOT_FOUND", "no ban of %s %s", as, who)
		return
	}
	a.saveBanned()
	w.WriteHeader(http.StatusNoContent)
}

// bannedFileName keeps the banned list across restarts, under DataDir/api.
const bannedFileName = "banned.json"

// saveBanned writes the live bans (mode 0600); a failure is logged, the
// ban stays in force in memory.
func (a *API) saveBanned() {
	a.bannedMu.Lock()
	defer a.bannedMu.Unlock()
	data, err := json.MarshalIndent(a.node.Banned().List(), "", "  ")
	if err == nil {
		p := filepath.Join(a.opts.DataDir, "api", bannedFileName)
		if err = os.WriteFile(p+".tmp", data, 0o600); err == nil {
			err = os.Rename(p+".tmp", p)
		}
	}
	if err != nil {
		a.log.Error().Err(err).Msg("api_banned_save_failed")
	}
}

// loadBanned restores the bans saved by saveBanned; expired ones are dropped.
func (a *API) loadBanned() error {
	data, err := os.ReadFile(filepath.Join(a.opts.DataDir, "api", bannedFileName))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	var bans []hooks.Ban
	if err := json.Unmarshal(data, &bans); err != nil {
		return fmt.Errorf("api: %s is corrupt: %w", bannedFileName, err)
	}
	now := time.Now()
	for _, b := range bans {
		if b.Until.IsZero() || b.Until.After(now) {
			_ = a.node.Banned().Add(b) // a duplicate is already in force
		}
	}
	return nil
}
