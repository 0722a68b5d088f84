// A standalone cAdvisor for the local stack's real node, built against
// cAdvisor's library module: the upstream command lives in a nested module
// (github.com/google/cadvisor/cmd) that the module proxy reached here does
// not serve, so this small main wires the same library pieces together.
//
// It watches containerd's containers (the k8s.io namespace) and every
// cgroup, keeps 1 s samples (housekeeping_interval, cAdvisor's own flag)
// and serves them as Prometheus metrics on one loopback address.
package main

import (
	"flag"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/google/cadvisor/cache/memory"
	"github.com/google/cadvisor/container"
	_ "github.com/google/cadvisor/container/containerd/install"
	v2 "github.com/google/cadvisor/info/v2"
	"github.com/google/cadvisor/manager"
	"github.com/google/cadvisor/metrics"
	"github.com/google/cadvisor/utils/sysfs"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8088", "address to serve /metrics on")
	klog.InitFlags(nil)
	flag.Parse()

	// What a dry run's report reads; the rest (per-CPU, TCP tables,
	// process lists) costs CPU at a 1 s interval for nothing.
	included := container.MetricSet{
		container.CpuUsageMetrics:     struct{}{},
		container.MemoryUsageMetrics:  struct{}{},
		container.DiskIOMetrics:       struct{}{},
		container.NetworkUsageMetrics: struct{}{},
		container.OOMMetrics:          struct{}{},
	}
	interval := *manager.HousekeepingInterval
	// Fixed-rate samples: dynamic housekeeping would stretch the interval
	// of idle containers, and a step that wakes up would miss its start.
	dynamic := false
	// Besides containerd's containers, only the kubelet's pod cgroups:
	// every other cgroup of the host sampled each second is load for nothing.
	rawCgroups := []string{"/kubepods"}
	m, err := manager.New(memory.New(2*time.Minute, nil), sysfs.NewRealSysFs(),
		manager.HousekeepingConfig{Interval: &interval, AllowDynamic: &dynamic},
		included, http.DefaultClient, rawCgroups, nil, "", 0)
	if err != nil {
		klog.Fatalf("cannot create the cAdvisor manager: %v", err)
	}
	if err := m.Start(); err != nil {
		klog.Fatalf("cannot start the cAdvisor manager: %v", err)
	}

	registry := prometheus.NewRegistry()
	registry.MustRegister(metrics.NewPrometheusCollector(m, metrics.DefaultContainerLabels, included,
		clock.RealClock{}, v2.RequestOptions{IdType: v2.TypeName, Count: 1, Recursive: true}))
	http.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })

	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
		<-stop
		_ = m.Stop()
		os.Exit(0)
	}()
	klog.Fatal(http.ListenAndServe(*listen, nil))
}
