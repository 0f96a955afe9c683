package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Listen calls onChange after every change that any server (this one
// included) commits to the store, until ctx ends; then it returns
// ctx.Err(). It holds one connection of its own, LISTENing on Channel.
//
// Calls are coalesced: onChange runs in one goroutine, never concurrently
// with itself, and changes announced while it runs cause one more call, not
// one per change. When the connection fails Listen reconnects with backoff
// (100 ms doubling to 5 s) and calls onChange once it listens again, since
// announcements may have been missed; it does so on the first connection
// too, so nothing committed between Open and Listen is missed. Each
// connection failure is passed to s.OnListenError when it is set.
//
// Listen is the fast path. The server should still reload on a timer, in
// case the notification path is broken in a way Listen cannot see.
func (s *DB) Listen(ctx context.Context, onChange func()) error {
	kick := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-kick:
				onChange()
			}
		}
	}()
	defer func() { <-done }()
	changed := func() {
		select {
		case kick <- struct{}{}:
		default: // a call is already pending; it will see this change too
		}
	}
	const minBackoff, maxBackoff = 100 * time.Millisecond, 5 * time.Second
	backoff := minBackoff
	for {
		listening, err := s.listenOnce(ctx, changed)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if listening {
			backoff = minBackoff
		}
		if err != nil && s.OnListenError != nil {
			s.OnListenError(redact(err, s.config.Password))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listenOnce connects, listens, and passes notifications for this store's
// schema to changed until the connection fails. It reports whether it got
// as far as listening.
func (s *DB) listenOnce(ctx context.Context, changed func()) (bool, error) {
	conn, err := pgx.ConnectConfig(ctx, s.config.Copy())
	if err != nil {
		return false, fmt.Errorf("listen for changes: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `LISTEN `+Channel); err != nil {
		return false, fmt.Errorf("listen for changes: %w", err)
	}
	changed() // anything may have changed while we were not listening
	for {
		// Wake up now and then to check that the connection is alive: a
		// peer that vanished without a FIN is otherwise noticed only by TCP
		// keepalive, minutes later.
		wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			if n.Channel == Channel && n.Payload == s.schema {
				changed()
			}
		case ctx.Err() != nil:
			return true, nil
		case pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded):
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return true, fmt.Errorf("listen for changes: the connection is gone: %w", err)
			}
		default:
			return true, fmt.Errorf("listen for changes: %w", err)
		}
	}
}
