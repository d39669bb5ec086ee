package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"chatd/internal/chatdtest"
	"chatd/internal/pgtest"
)

// restartEnv names the PostgreSQL cluster that TestPostgresRestart may stop,
// as pg_ctlcluster's "VERSION NAME" (for example "15 main").
const restartEnv = "CHATD_TEST_PG_RESTART"

// TestPostgresRestart stops the real PostgreSQL server under load and starts
// it again: the same checks as the cluster's proxy outage, with the server
// itself going away. It stops a server other suites use, so it runs only
// when .ci/run asks for it, in a step of its own after them.
func TestPostgresRestart(t *testing.T) {
	cluster := os.Getenv(restartEnv)
	if cluster == "" {
		t.Skip(restartEnv + " not set: this test stops the shared PostgreSQL server, so .ci/run runs it alone, after the other suites")
	}
	dbURL := pgtest.SchemaURL(t)
	server := pgServer{t: t, cluster: strings.Fields(cluster)}
	t.Cleanup(server.Up) // never leave the server stopped
	checkOutages(t, chatdtest.Build(t), dbURL, server, 1)
}

// pgServer stops and starts a local PostgreSQL cluster with pg_ctlcluster.
type pgServer struct {
	t       *testing.T
	cluster []string
}

func (s pgServer) Down() { s.ctl("stop", "-m", "fast") }

func (s pgServer) Up() {
	if exec.Command("pg_isready", "-q", "-h", "127.0.0.1").Run() != nil {
		s.ctl("start")
	}
}

func (s pgServer) ctl(action ...string) {
	s.t.Helper()
	args := append(append([]string{"--skip-systemctl-redirect"}, s.cluster...), action...)
	if out, err := exec.Command("pg_ctlcluster", args...).CombinedOutput(); err != nil {
		s.t.Fatalf("pg_ctlcluster %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
