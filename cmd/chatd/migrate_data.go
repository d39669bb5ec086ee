package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"chatd/internal/postgres"
	"chatd/internal/sqlite"
)

// migrateOptions are the flags of `chatd migrate-data`.
type migrateOptions struct {
	from     string // SQLite file
	to       string // postgres:// URL
	sessions bool   // also move sessions, so that nobody has to log in again
}

func parseMigrateFlags(args []string, getenv func(string) string, stderr io.Writer) (migrateOptions, error) {
	var o migrateOptions
	fs := flag.NewFlagSet("chatd migrate-data", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: chatd migrate-data -from ./data/chatd.db -to postgres://... [-sessions]")
		fmt.Fprintln(fs.Output(), "Copies users, avatars, messages (and sessions) from SQLite to PostgreSQL, keeping ids; safe to run again.")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.from, "from", "./data/chatd.db", "SQLite database file to read")
	fs.StringVar(&o.to, "to", getenv("CHATD_DB"), "PostgreSQL URL to write, postgres://... (CHATD_DB)")
	fs.BoolVar(&o.sessions, "sessions", false, "also move sessions, so that logged-in clients stay logged in")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("migrate-data: unexpected argument %q", fs.Arg(0))
	}
	if !strings.HasPrefix(o.to, "postgres://") && !strings.HasPrefix(o.to, "postgresql://") {
		return o, errors.New("migrate-data: -to (or CHATD_DB) must be a postgres:// URL")
	}
	// sqlite.Open would create a missing file, and an empty source would
	// "migrate" nothing successfully.
	if _, err := os.Stat(o.from); err != nil {
		return o, fmt.Errorf("migrate-data: -from: %w", err)
	}
	return o, nil
}

// runMigrateData copies a SQLite deployment into PostgreSQL: users with
// their password hashes, avatars, messages with their ids and times, and
// with -sessions the sessions. Rows already present are skipped, so it can
// run again after an interruption. It ends by printing the row counts of
// both sides and fails when they differ. Run it while no chatd serves from
// either database.
func runMigrateData(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	opts, err := parseMigrateFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	src, err := sqlite.Open(ctx, opts.from, sqlite.Options{})
	if err != nil {
		return fmt.Errorf("migrate-data: open source: %w", err)
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, opts.to, postgres.Options{})
	if err != nil {
		return fmt.Errorf("migrate-data: open target: %w", err)
	}
	defer dst.Close()
	if err := copyData(ctx, src, dst, opts.sessions, stderr); err != nil {
		return fmt.Errorf("migrate-data: %w", err)
	}
	return compareCounts(ctx, src, dst, opts.sessions, stdout)
}

// copyData moves every table, parents first, and then moves the target's
// id sequences past every id the source ever handed out.
func copyData(ctx context.Context, src *sqlite.Store, dst *postgres.Store, sessions bool, stderr io.Writer) error {
	counts, err := src.CountRows(ctx)
	if err != nil {
		return err
	}
	total := counts.Users + counts.Avatars + counts.Messages
	if sessions {
		total += counts.Sessions
	}
	p := newMigrateProgress(stderr, total)
	defer p.finish()
	steps := []struct {
		table string
		rows  int64
		run   func() (int64, error)
	}{
		{"users", counts.Users, func() (int64, error) { return dst.ImportUsers(ctx, counted(p, src.ExportUsers(ctx))) }},
		{"avatars", counts.Avatars, func() (int64, error) { return dst.ImportAvatars(ctx, counted(p, src.ExportAvatars(ctx))) }},
		{"messages", counts.Messages, func() (int64, error) { return dst.ImportMessages(ctx, counted(p, src.ExportMessages(ctx))) }},
		{"sessions", counts.Sessions, func() (int64, error) { return dst.ImportSessions(ctx, counted(p, src.ExportSessions(ctx))) }},
	}
	if !sessions {
		steps = steps[:3]
	}
	for _, step := range steps {
		p.start(step.table, step.rows)
		inserted, err := step.run()
		if err != nil {
			return err
		}
		p.done(inserted)
	}
	ids, err := src.HighestIDs(ctx)
	if err != nil {
		return err
	}
	return dst.AdvanceIDs(ctx, postgres.HighestIDs(ids))
}

// compareCounts prints the row counts of both sides and fails when any differ.
func compareCounts(ctx context.Context, src *sqlite.Store, dst *postgres.Store, sessions bool, stdout io.Writer) error {
	from, err := src.CountRows(ctx)
	if err != nil {
		return fmt.Errorf("migrate-data: %w", err)
	}
	to, err := dst.CountRows(ctx)
	if err != nil {
		return fmt.Errorf("migrate-data: %w", err)
	}
	rows := []struct {
		table    string
		from, to int64
	}{
		{"users", from.Users, to.Users},
		{"avatars", from.Avatars, to.Avatars},
		{"messages", from.Messages, to.Messages},
		{"sessions", from.Sessions, to.Sessions},
	}
	if !sessions {
		rows = rows[:3]
	}
	fmt.Fprintf(stdout, "%-10s %10s %10s\n", "table", "sqlite", "postgres")
	var differ []string
	for _, r := range rows {
		fmt.Fprintf(stdout, "%-10s %10d %10d\n", r.table, r.from, r.to)
		if r.from != r.to {
			differ = append(differ, fmt.Sprintf("%s (%d in sqlite, %d in postgres)", r.table, r.from, r.to))
		}
	}
	if len(differ) > 0 {
		return fmt.Errorf("migrate-data: counts differ: %s; did the target hold other data?", strings.Join(differ, ", "))
	}
	return nil
}

// counted passes rows through, counting each on p.
func counted[T any](p *migrateProgress, rows iter.Seq2[T, error]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for v, err := range rows {
			if err == nil {
				p.add()
			}
			if !yield(v, err) {
				return
			}
		}
	}
}

// migrateProgress shows how far the copy is: a bar on a terminal, plain
// lines (one per table, and one every few seconds within a long one) when
// stderr is a file or a pipe, where a bar's redraws would be noise.
type migrateProgress struct {
	w     io.Writer
	bar   *progressbar.ProgressBar // nil when stderr is not a terminal
	table string
	n     int64
	rows  int64
	last  time.Time
}

const progressEvery = 2 * time.Second

func newMigrateProgress(stderr io.Writer, total int64) *migrateProgress {
	p := &migrateProgress{w: stderr}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(stderr),
			progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond))
	}
	return p
}

func (p *migrateProgress) start(table string, rows int64) {
	p.table, p.n, p.rows, p.last = table, 0, rows, time.Now()
	if p.bar != nil {
		p.bar.Describe(table)
		return
	}
	fmt.Fprintf(p.w, "migrate-data: %s: copying %d rows\n", table, rows)
}

func (p *migrateProgress) add() {
	p.n++
	if p.bar != nil {
		p.bar.Add64(1)
		return
	}
	if now := time.Now(); now.Sub(p.last) >= progressEvery {
		p.last = now
		fmt.Fprintf(p.w, "migrate-data: %s: %d/%d\n", p.table, p.n, p.rows)
	}
}

func (p *migrateProgress) done(inserted int64) {
	if p.bar == nil {
		fmt.Fprintf(p.w, "migrate-data: %s: %d read, %d new, %d already there\n", p.table, p.n, inserted, p.n-inserted)
	}
}

func (p *migrateProgress) finish() {
	if p.bar != nil {
		p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}
