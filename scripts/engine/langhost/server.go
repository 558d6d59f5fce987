package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// maxMessageSize matches the engine's limit on gRPC messages (rpcutil: 400 MiB), so a large
// program's requests are not refused by the host first.
const maxMessageSize = 400 * 1024 * 1024

// defaultEngineCheck is how often the host asks the engine whether it is still there; it
// stops serving (and so exits) once the engine is gone, so no host outlives a killed CLI.
const defaultEngineCheck = 5 * time.Second

type server struct {
	port int
	done chan error
}

// serve listens on a free loopback port, serves the LanguageRuntime and gRPC health services,
// and stops gracefully when ctx ends (a signal, or the engine gone: see watchEngine).
func serve(ctx context.Context, h *host, log *slog.Logger) (*server, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on 127.0.0.1: %w", err)
	}
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(maxMessageSize))
	pulumirpc.RegisterLanguageRuntimeServer(gs, h)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	hs.SetServingStatus(pulumirpc.LanguageRuntime_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)

	s := &server{port: lis.Addr().(*net.TCPAddr).Port, done: make(chan error, 1)}
	served := make(chan error, 1)
	go func() { served <- gs.Serve(lis) }()
	go func() {
		select {
		case err := <-served:
			s.done <- err
			return
		case <-ctx.Done():
		}
		log.Info("stopping", "reason", context.Cause(ctx))
		stopped := make(chan struct{})
		go func() { gs.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			gs.Stop()
		}
		err := <-served
		if errors.Is(err, grpc.ErrServerStopped) {
			err = nil
		}
		s.done <- err
	}()
	return s, nil
}

func (s *server) wait() error { return <-s.done }

// watchEngine polls the engine's health service and stops the host once the engine no longer
// answers (Unimplemented counts as alive: the engine only has to be there).
func (h *host) watchEngine(addr string) {
	ctx := h.ctx
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		h.log.Warn("cannot watch the engine", "address", addr, "err", err)
		return
	}
	client := healthpb.NewHealthClient(conn)
	go func() {
		defer conn.Close()
		t := time.NewTicker(h.engineCheck)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			cctx, cancel := context.WithTimeout(ctx, h.engineCheck)
			_, err := client.Check(cctx, &healthpb.HealthCheckRequest{})
			cancel()
			if err != nil && status.Code(err) != codes.Unimplemented && ctx.Err() == nil {
				h.log.Warn("the engine is gone; stopping", "address", addr, "err", err)
				h.stop(fmt.Errorf("the engine at %s is gone: %w", addr, err))
				return
			}
		}
	}()
}
