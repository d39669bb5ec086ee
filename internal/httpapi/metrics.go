package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics, in a registry of its own so
// that several servers in one process (as in tests) never collide.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.HistogramVec
}

// subscriberCounter is implemented by feeds that can count their live
// subscribers (the realtime hub does).
type subscriberCounter interface{ Subscribers() int }

func newMetrics(feed any) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "chatd_http_request_duration_seconds",
			Help:    "HTTP requests by method, route and status.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 5, 30, 60},
		}, []string{"method", "route", "status"}),
	}
	m.registry.MustRegister(m.requests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if c, ok := feed.(subscriberCounter); ok {
		m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "chatd_realtime_subscribers",
			Help: "Open event streams and waiting long polls on this instance.",
		}, func() float64 { return float64(c.Subscribers()) }))
	}
	return m
}

func (m *metrics) observe(method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Observe(d.Seconds())
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
