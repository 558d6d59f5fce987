package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Buffering of the logs: one write(2) per access log line was the largest
// cost of logging under load (see the README's benchmark section).
const (
	logBufferSize    = 64 << 10
	logFlushInterval = 100 * time.Millisecond
)

// logWriter buffers what the slog handler writes and passes it on to out at
// most logFlushInterval later, when the buffer fills, at once for records at
// warn level or above (flushingHandler), and on close. Safe for concurrent use.
type logWriter struct {
	mu  sync.Mutex
	buf *bufio.Writer
}

// newLogWriter returns a logWriter over out whose buffer is flushed every
// interval, and a function that stops that and flushes what is left: call it
// before the process exits.
func newLogWriter(out io.Writer, interval time.Duration) (w *logWriter, closeFn func()) {
	w = &logWriter{buf: bufio.NewWriterSize(out, logBufferSize)}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ticker.C:
				w.Flush()
			}
		}
	}()
	return w, func() {
		close(stop)
		<-done
		w.Flush()
	}
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// Flush writes out what is buffered. A failed write to stdout has nowhere to
// be reported, so its error is dropped, as slog would.
func (w *logWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Buffered() > 0 {
		_ = w.buf.Flush()
	}
}

// flushingHandler flushes w after every record at warn level or above, so
// that problems are written at once and only info and debug lines wait.
type flushingHandler struct {
	slog.Handler
	w *logWriter
}

func (h flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.w.Flush()
	}
	return err
}

func (h flushingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushingHandler{h.Handler.WithAttrs(attrs), h.w}
}

func (h flushingHandler) WithGroup(name string) slog.Handler {
	return flushingHandler{h.Handler.WithGroup(name), h.w}
}
