// Package redistest runs throwaway redis-server processes for tests.
package redistest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startTimeout bounds how long a redis-server may take to answer PING.
const startTimeout = 10 * time.Second

// Server is a redis-server process owned by one test.
type Server struct {
	// Addr is the host:port the server listens on, on 127.0.0.1.
	Addr string
	// Password is the password the server requires.
	Password string
	// CAFile is the PEM file of the CA that signed the server's certificate,
	// for a server that serves TLS (StartTLS); "" otherwise.
	CAFile string

	t      testing.TB
	bin    string
	dir    string
	cmd    *exec.Cmd
	exited chan struct{}
	// args returns the command line after the binary, for the port.
	args func(port string) []string
	// tls is how clients reach a TLS server; nil for plain text.
	tls *tls.Config
	// frozen is set between Freeze and Thaw.
	frozen bool
}

// Start runs a redis-server for the test on a free 127.0.0.1 port, with a
// fresh data directory, append-only persistence synced on every write, no RDB
// snapshots and a password. The server is killed when the test ends.
//
// If redis-server is not on PATH, Start skips the test, or fails it when the
// environment variable CI is "true".
func Start(t testing.TB) *Server {
	t.Helper()
	s := newServer(t, rand.Text())
	s.args = s.serverArgs
	s.launch("redis-server")
	return s
}

// newServer returns a Server with a fresh data directory that is killed when
// the test ends, and skips or fails the test without redis-server.
func newServer(t testing.TB, password string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		const msg = "redis-server is not on PATH (Debian: apt-get install redis-server)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg + "; skipping this test")
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir(), Password: password}
	t.Cleanup(s.Kill)
	return s
}

// launch starts the server on a free port; what names the process in errors.
func (s *Server) launch(what string) {
	s.t.Helper()
	// The port is free when picked but another process may take it before
	// redis-server binds it, so try a few.
	var err error
	for range 3 {
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(s.t)))
		if err = s.start(); err == nil {
			return
		}
	}
	s.t.Fatalf("start %s: %v", what, err)
}

// serverArgs is the command line of a data server: append-only persistence
// synced on every write, no RDB snapshots, a password.
func (s *Server) serverArgs(port string) []string {
	return []string{
		"--bind", "127.0.0.1",
		"--port", port,
		"--dir", s.dir,
		"--appendonly", "yes",
		"--appendfsync", "always",
		"--save", "",
		"--requirepass", s.Password,
		"--logfile", s.logFile(),
	}
}

func (s *Server) logFile() string { return filepath.Join(s.dir, "redis.log") }

// Restart starts the server again on the same address and data directory,
// after Kill.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("restart redis-server: %v", err)
	}
}

// Kill stops the server abruptly, as in a crash, and waits for it to exit.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd, s.frozen = nil, false
}

// Freeze stops the server's process (SIGSTOP) without a word to its peers,
// as a node that hangs: the kernel still completes TCP connections to its
// port, but nothing answers on them. Thaw resumes it; Kill still works.
func (s *Server) Freeze() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		s.t.Fatalf("freeze %s: %v", s.Addr, err)
	}
	s.frozen = true
}

// Thaw resumes a server that Freeze stopped (SIGCONT).
func (s *Server) Thaw() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		s.t.Fatalf("thaw %s: %v", s.Addr, err)
	}
	s.frozen = false
}

// Frozen reports whether the server is stopped by Freeze.
func (s *Server) Frozen() bool { return s.frozen }

// Client returns a client of the server, closed when the test ends.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr, Password: s.Password, TLSConfig: s.tls})
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}

// start runs redis-server and waits until it answers PING.
func (s *Server) start() error {
	_, port, _ := net.SplitHostPort(s.Addr)
	cmd := exec.Command(s.bin, s.args(port)...)
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited = cmd, exited

	if err := s.waitReady(); err != nil {
		s.Kill()
		log, _ := os.ReadFile(s.logFile())
		return fmt.Errorf("%w; redis log:\n%s", err, log)
	}
	return nil
}

// waitReady polls the server with PING until it answers, exits or times out.
func (s *Server) waitReady() error {
	c := redis.NewClient(&redis.Options{
		Addr: s.Addr, Password: s.Password, MaxRetries: -1, DialTimeout: time.Second, TLSConfig: s.tls,
	})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		err := c.Ping(ctx).Err()
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return errors.New("redis-server exited during start-up")
		case <-ctx.Done():
			return fmt.Errorf("redis-server did not answer PING within %s: %w", startTimeout, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// freePort returns a TCP port that is free on 127.0.0.1 right now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
