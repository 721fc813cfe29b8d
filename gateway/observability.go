package gateway

import (
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/manifold-iot/manifold/core/broker"
	"github.com/manifold-iot/manifold/core/slowsubs"
	"github.com/manifold-iot/manifold/core/topicmetrics"
	"github.com/manifold-iot/manifold/core/trace"
	"github.com/manifold-iot/manifold/gateway/config"
)

// topicMetricsFile keeps the registered topic metrics under node.data_dir.
const topicMetricsFile = "topic_metrics.json"

// observability is the node's slow subscription tracker, topic metrics and
// traces: built before the broker, which calls into them, and closed after it.
type observability struct {
	slow   *slowsubs.Tracker
	topics *topicmetrics.Registry
	tracer *trace.Tracer
}

// newObservability builds them from slow_subs.* and trace.*, loads the
// registered topics, and starts the rate ticker and the trace writer.
func newObservability(cfg *config.Config, log zerolog.Logger) (observability, error) {
	ss := cfg.SlowSubs
	o := observability{
		slow: slowsubs.New(slowsubs.Config{
			Enable:         ss.Enable,
			Threshold:      ss.Threshold.Duration(),
			ExpireInterval: ss.ExpireInterval.Duration(),
			TopKNum:        ss.TopKNum,
			StatsType:      ss.StatsType,
		}),
		topics: topicmetrics.New(),
	}
	if err := o.topics.Load(filepath.Join(cfg.Node.DataDir, topicMetricsFile)); err != nil {
		return observability{}, err
	}
	o.topics.Start(time.Second)
	o.tracer = trace.New(filepath.Join(cfg.Node.DataDir, "trace"), int64(cfg.Trace.MaxFileSize),
		log.With().Str("component", "trace").Logger())
	return o, nil
}

// apply hands them to the broker's configuration.
func (o observability) apply(bc *broker.Config) {
	bc.Trace = o.tracer
	bc.TopicMetrics = o.topics
	bc.Session.SlowSubs = o.slow
}

// close stops the rate ticker and the trace writer.
func (o observability) close() {
	if o.topics != nil {
		o.topics.Close()
	}
	if o.tracer != nil {
		o.tracer.Close()
	}
}

// SlowSubs is the node's slow subscription tracker.
func (s *Server) SlowSubs() *slowsubs.Tracker { return s.obs.slow }

// TopicMetrics is the node's registered topic metrics.
func (s *Server) TopicMetrics() *topicmetrics.Registry { return s.obs.topics }

// Tracer is the node's traces.
func (s *Server) Tracer() *trace.Tracer { return s.obs.tracer }
