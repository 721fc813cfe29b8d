package api

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/manifold-iot/manifold/core"
	"github.com/manifold-iot/manifold/core/broker"
)

func (a *API) registerPublish() {
	a.handle("POST", Prefix+"/publish", "publish", "Publish a message", false, a.publish)
	a.handle("POST", Prefix+"/publish/bulk", "publish", "Publish several messages", false, a.publishBulk)
}

// publishReq is one message of POST /publish (EMQX 5 names).
type publishReq struct {
	Topic           string `json:"topic"`
	ClientID        string `json:"clientid"`
	Payload         string `json:"payload"`
	PayloadEncoding string `json:"payload_encoding"` // plain (default) or base64
	QoS             int    `json:"qos"`
	Retain          bool   `json:"retain"`
	Properties      struct {
		PayloadFormatIndicator *int              `json:"payload_format_indicator"`
		MessageExpiryInterval  int64             `json:"message_expiry_interval"`
		ResponseTopic          string            `json:"response_topic"`
		CorrelationData        string            `json:"correlation_data"`
		UserProperties         map[string]string `json:"user_properties"`
		ContentType            string            `json:"content_type"`
	} `json:"properties"`
}

// publishResp is EMQX's answer for one message: the id, and reason_code 16
// with message "no_matching_subscribers" when nobody took it.
type publishResp struct {
	ID         string `json:"id,omitempty"`
	ReasonCode int    `json:"reason_code,omitempty"`
	Message    string `json:"message,omitempty"`
}

// errBadPublish is a publish request the API refuses before the broker sees it.
var errBadPublish = errors.New("bad publish request")

func (a *API) publishOne(req publishReq) (publishResp, int, error) {
	if req.Topic == "" {
		return publishResp{}, http.StatusBadRequest, fmt.Errorf("%w: topic required", errBadPublish)
	}
	if req.QoS < 0 || req.QoS > 2 {
		return publishResp{}, http.StatusBadRequest, fmt.Errorf("%w: qos must be 0, 1 or 2", errBadPublish)
	}
	payload := []byte(req.Payload)
	switch req.PayloadEncoding {
	case "", "plain":
	case "base64":
		p, err := base64.StdEncoding.DecodeString(req.Payload)
		if err != nil {
			return publishResp{}, http.StatusBadRequest, fmt.Errorf("%w: payload is not base64", errBadPublish)
		}
		payload = p
	default:
		return publishResp{}, http.StatusBadRequest, fmt.Errorf("%w: payload_encoding must be plain or base64", errBadPublish)
	}
	m := &core.Message{Topic: req.Topic, Payload: payload, QoS: core.QoS(req.QoS), Retain: req.Retain, From: req.ClientID}
	p := req.Properties
	if p.PayloadFormatIndicator != nil {
		m.PayloadFormat = byte(*p.PayloadFormatIndicator)
	}
	if p.MessageExpiryInterval < 0 {
		return publishResp{}, http.StatusBadRequest, fmt.Errorf("%w: message_expiry_interval must not be negative", errBadPublish)
	}
	m.ExpiryInterval = time.Duration(p.MessageExpiryInterval) * time.Second
	m.ResponseTopic, m.ContentType = p.ResponseTopic, p.ContentType
	if p.CorrelationData != "" {
		m.CorrelationData = []byte(p.CorrelationData)
	}
	for k, v := range p.UserProperties {
		m.UserProperties = append(m.UserProperties, core.UserProperty{Key: k, Value: v})
	}
	res, err := a.node.Broker().Publish(m)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, broker.ErrDelayedFull) {
			status = http.StatusServiceUnavailable
		}
		return publishResp{}, status, err
	}
	out := publishResp{ID: fmt.Sprintf("%016X", m.ID)}
	if res.Matched == 0 && !res.Delayed {
		out.ReasonCode, out.Message = 16, "no_matching_subscribers"
		return out, http.StatusAccepted, nil
	}
	return out, http.StatusOK, nil
}

func (a *API) publish(w http.ResponseWriter, r *http.Request) {
	var req publishReq
	if !decode(w, r, &req) {
		return
	}
	out, status, err := a.publishOne(req)
	if err != nil {
		writeError(w, status, "BAD_REQUEST", err.Error())
		return
	}
	writeJSON(w, status, out)
}

// maxBulk bounds one bulk publish.
const maxBulk = 10000

func (a *API) publishBulk(w http.ResponseWriter, r *http.Request) {
	var reqs []publishReq
	if !decode(w, r, &reqs) {
		return
	}
	if len(reqs) == 0 || len(reqs) > maxBulk {
		badRequest(w, "want 1 to %s messages", strconv.Itoa(maxBulk))
		return
	}
	out := make([]publishResp, 0, len(reqs))
	status := http.StatusOK
	for i, req := range reqs {
		res, st, err := a.publishOne(req)
		if err != nil {
			writeError(w, st, "BAD_REQUEST", fmt.Sprintf("message %d: %v", i+1, err))
			return
		}
		if st == http.StatusAccepted && status == http.StatusOK {
			status = st
		}
		out = append(out, res)
	}
	writeJSON(w, status, out)
}
