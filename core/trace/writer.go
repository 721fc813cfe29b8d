package trace

import (
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// writer is the one goroutine that writes every trace's records. It also
// moves traces between waiting, running and stopped once a second.
func (tr *Tracer) writer() {
	defer close(tr.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var line []byte
	dirty := map[*trace]struct{}{}
	flush := func() {
		for t := range dirty {
			t.wmu.Lock()
			if t.w != nil {
				_ = t.w.Flush()
			}
			t.wmu.Unlock()
			delete(dirty, t)
		}
	}
	for {
		select {
		case <-tr.stop:
			for {
				select {
				case r := <-tr.ch:
					line = tr.write(r, line)
					dirty[r.t] = struct{}{}
				default:
					flush()
					return
				}
			}
		case <-tick.C:
			tr.mu.Lock()
			tr.refreshLocked(tr.now())
			tr.mu.Unlock()
		case r := <-tr.ch:
			line = tr.write(r, line)
			dirty[r.t] = struct{}{}
			// Write what is queued, then flush once the queue is empty.
			for more := true; more; {
				select {
				case r := <-tr.ch:
					line = tr.write(r, line)
					dirty[r.t] = struct{}{}
				default:
					more = false
				}
			}
			flush()
		}
	}
}

// write formats r and writes it to its trace's file, reusing buf.
func (tr *Tracer) write(r record, buf []byte) []byte {
	t := r.t
	if r.at.UnixNano() >= t.end.Load() || t.trunc.Load() {
		return buf
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if t.w == nil {
		return buf
	}
	if d := t.dropped.Load(); d > t.reported {
		buf = appendHead(buf[:0], r.at, EventDropped)
		buf = append(buf, " count="...)
		buf = strconv.AppendUint(buf, d-t.reported, 10)
		buf = append(buf, '\n')
		t.reported = d
		if !tr.put(t, buf) {
			return buf
		}
	}
	buf = format(buf[:0], r)
	tr.put(t, buf)
	return buf
}

// put writes one line unless it would pass the size bound; caller holds t.wmu.
func (tr *Tracer) put(t *trace, line []byte) bool {
	if t.size.Load()+int64(len(line)) > tr.maxSize {
		t.trunc.Store(true)
		tr.log.Warn().Str("trace", t.spec.Name).Int64("max_size", tr.maxSize).Msg("trace_file_full")
		return false
	}
	if _, err := t.w.Write(line); err != nil {
		t.trunc.Store(true)
		tr.log.Error().Err(err).Str("trace", t.spec.Name).Msg("trace_write_failed")
		return false
	}
	t.size.Add(int64(len(line)))
	return true
}

func appendHead(b []byte, at time.Time, event string) []byte {
	b = at.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
	b = append(b, " ["...)
	b = append(b, event...)
	b = append(b, ']')
	return b
}

// format writes one trace line:
//
//	2026-11-26T00:50:00.123456Z [publish] clientid=c1 topic=a/b qos=1 retain=false payload=hello
func format(b []byte, r record) []byte {
	b = appendHead(b, r.at, r.event)
	b = append(b, " clientid="...)
	b = append(b, r.clientID...)
	if r.topic != "" {
		b = append(b, " topic="...)
		b = append(b, r.topic...)
	}
	switch r.event {
	case EventSubscribe:
		b = append(b, " qos="...)
		b = strconv.AppendUint(b, uint64(r.qos), 10)
	case EventPublish, EventDeliver, EventDeliverDrop:
		m := r.msg
		b = append(b, " qos="...)
		b = strconv.AppendUint(b, uint64(r.qos), 10)
		b = append(b, " retain="...)
		b = strconv.AppendBool(b, m.Retain)
		if r.event != EventPublish {
			b = append(b, " from="...)
			b = append(b, m.From...)
		}
		b = append(b, " payload="...)
		b = appendPayload(b, m.Payload, r.t.spec.PayloadEncode)
	}
	if r.extra != "" {
		b = append(b, ' ')
		b = append(b, r.extra...)
	}
	return append(b, '\n')
}

var escaper = strings.NewReplacer("\\", "\\\\", "\n", "\\n", "\r", "\\r")

func appendPayload(b, p []byte, enc string) []byte {
	switch enc {
	case EncodeHex:
		return hex.AppendEncode(b, p)
	case EncodeHidden:
		return append(b, "******"...)
	}
	if strings.ContainsAny(string(p), "\\\n\r") {
		return append(b, escaper.Replace(string(p))...)
	}
	return append(b, p...)
}
