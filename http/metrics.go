package http

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics, in a registry of its own so
// that several servers can live in one process (tests, the benchmark).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	handler  http.Handler
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hutong_http_requests_total",
		Help: "HTTP requests by route pattern, method and status code.",
	}, []string{"route", "method", "code"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hutong_http_request_duration_seconds",
		Help:    "HTTP request latency by route pattern.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route"})
	m.reg.MustRegister(m.requests, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
	return m
}

// routeMetrics are one route's metrics, resolved once: looking label
// values up on every request costs more than the rest of a cheap request.
type routeMetrics struct {
	m        *metrics
	route    string
	duration prometheus.Observer

	mu       sync.RWMutex
	requests map[[2]string]prometheus.Counter // method, status
}

func (m *metrics) route(name string) *routeMetrics {
	return &routeMetrics{m: m, route: name, duration: m.duration.WithLabelValues(name), requests: map[[2]string]prometheus.Counter{}}
}

func (r *routeMetrics) observe(method string, status int, took time.Duration) {
	r.duration.Observe(took.Seconds())
	key := [2]string{method, statusText(status)}
	r.mu.RLock()
	c, ok := r.requests[key]
	r.mu.RUnlock()
	if !ok {
		c = r.m.requests.WithLabelValues(r.route, method, key[1])
		r.mu.Lock()
		r.requests[key] = c
		r.mu.Unlock()
	}
	c.Inc()
}

// statusText is strconv.Itoa without allocating for the common statuses.
func statusText(status int) string {
	switch status {
	case 200:
		return "200"
	case 201:
		return "201"
	case 204:
		return "204"
	case 400:
		return "400"
	case 401:
		return "401"
	case 403:
		return "403"
	case 404:
		return "404"
	case 429:
		return "429"
	}
	return strconv.Itoa(status)
}

// Register adds collectors (the store's gauges, the exchange's counters) to
// the server's registry.
func (s *Server) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := s.metrics.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) error {
	s.metrics.handler.ServeHTTP(w, r)
	return nil
}
