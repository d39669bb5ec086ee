package httpapi

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"chatd/internal/pgtest"
)

// storeEnv selects the store under the HTTP suite: SQLite unless it says
// "postgres".
const storeEnv = "CHATD_TEST_HTTP_STORE"

// TestMain runs the whole HTTP suite on SQLite and then, when a PostgreSQL
// test server is configured, once more on PostgreSQL: the API must behave
// the same on both stores. The second run is this test binary again, with
// the same flags, so -run, -v and -race carry over.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if code != 0 || os.Getenv(pgtest.EnvVar) == "" || os.Getenv(storeEnv) != "" || fuzzing() {
		os.Exit(code)
	}
	fmt.Println("httpapi: the HTTP suite again, on PostgreSQL (" + pgtest.EnvVar + " is set)")
	again := exec.Command(os.Args[0], os.Args[1:]...)
	again.Env = append(os.Environ(), storeEnv+"=postgres")
	again.Stdout, again.Stderr = os.Stdout, os.Stderr
	if err := again.Run(); err != nil {
		fmt.Println("httpapi: HTTP suite on PostgreSQL failed:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func fuzzing() bool {
	f := flag.Lookup("test.fuzz")
	return f != nil && f.Value.String() != ""
}
