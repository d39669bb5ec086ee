// Package chatdtest builds the real chatd binary for tests that run it as a
// subprocess (crash safety, several instances, the browser client).
package chatdtest

import (
	"context"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// Build compiles chatd/cmd/chatd into t.TempDir() and returns its path.
// Under -race the binary is built with -race too: it then reuses the
// packages the test binary was built from, so the build is mostly a link,
// and the server is race-checked under the test's load.
func Build(t testing.TB) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH; this test builds the chatd binary to run it")
	}
	bin := filepath.Join(t.TempDir(), "chatd")
	args := []string{"build", "-o", bin}
	if RaceEnabled() {
		args = append(args, "-race")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, goTool, append(args, "chatd/cmd/chatd")...).CombinedOutput()
	if err != nil {
		t.Fatalf("go %s chatd/cmd/chatd: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("go %s took %v", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	return bin
}

// RaceEnabled reports whether the running test binary was built with -race.
func RaceEnabled() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range info.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}
