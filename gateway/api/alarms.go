package api

import (
	"net/http"
	"time"

	"github.com/manifold-iot/manifold/core/alarm"
)

func (a *API) registerAlarms() {
	a.handle("GET", Prefix+"/alarms", "alarms",
		"List alarms: activated=true (default) the active ones, false the deactivated history (page, limit)", false, a.listAlarms)
	a.handle("DELETE", Prefix+"/alarms", "alarms", "Clear the deactivated alarms", false, a.clearAlarms)
}

// alarmJSON is one alarm as EMQX 5's GET /alarms lists it.
type alarmJSON struct {
	Node         string         `json:"node"`
	Name         string         `json:"name"`
	Message      string         `json:"message"`
	Details      map[string]any `json:"details"`
	Duration     int64          `json:"duration"` // milliseconds active, so far or in all
	ActivateAt   string         `json:"activate_at"`
	DeactivateAt string         `json:"deactivate_at"` // "infinity" while active
	Activated    bool           `json:"activated"`
}

func alarmView(al *alarm.Alarm, now time.Time) alarmJSON {
	until := "infinity"
	if !al.Activated {
		until = rfc3339(al.DeactivateAt)
	}
	return alarmJSON{Node: al.Node, Name: al.Name, Message: al.Message, Details: al.Details,
		Duration: al.Duration(now).Milliseconds(), ActivateAt: rfc3339(al.ActivateAt), DeactivateAt: until,
		Activated: al.Activated}
}

// listAlarms is GET /alarms?activated=true|false: EMQX lists both when the
// parameter is absent; so do we, the active ones first.
func (a *API) listAlarms(w http.ResponseWriter, r *http.Request) {
	page, limit, ok := paging(w, r)
	if !ok {
		return
	}
	activated, set, err := boolParam(r, "activated")
	if err != nil {
		badRequest(w, "activated must be true or false")
		return
	}
	reg := a.node.Alarms()
	var list []alarm.Alarm
	if reg != nil {
		switch {
		case set:
			list = reg.List(activated)
		default:
			list = append(reg.List(true), reg.List(false)...)
		}
	}
	now := time.Now()
	out := make([]alarmJSON, len(list))
	for i := range list {
		out[i] = alarmView(&list[i], now)
	}
	writePage(w, out, page, limit)
}

// clearAlarms is DELETE /alarms: the deactivated alarms are forgotten,
// active ones stay.
func (a *API) clearAlarms(w http.ResponseWriter, _ *http.Request) {
	if reg := a.node.Alarms(); reg != nil {
		reg.ClearDeactivated()
	}
	a.log.Info().Msg("api_alarms_cleared")
	w.WriteHeader(http.StatusNoContent)
}
