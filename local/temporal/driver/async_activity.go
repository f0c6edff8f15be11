// Completing an activity that answered "pending" (TW_EPENDING, the Go SDK's
// activity.ErrResultPending) from outside the worker, by its task token, as any client does:
// the official SDK's client.CompleteActivity and client.RecordActivityHeartbeat.

package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"strings"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

func cmdCompleteActivity(fs *flag.FlagSet) func(context.Context, client.Client) (any, error) {
	tokenFile := fs.String("token-file", "", "file holding the task token in hex (required)")
	result := fs.String("result", "", "complete it with this JSON result")
	failMsg := fs.String("fail", "", "fail it with an application error of this message")
	failType := fs.String("fail-type", "AsyncFailure", "the application error's type (with --fail)")
	cancel := fs.Bool("cancel", false, "answer it as cancelled")
	var beats multiFlag
	fs.Var(&beats, "heartbeat", "record a heartbeat with this JSON detail first (repeatable; alone: only heartbeat)")
	return func(ctx context.Context, c client.Client) (any, error) {
		raw, err := os.ReadFile(*tokenFile)
		if err != nil {
			return nil, err
		}
		token, err := hex.DecodeString(strings.TrimSpace(string(raw)))
		if err != nil || len(token) == 0 {
			return nil, errors.New("--token-file holds no hex task token")
		}
		n := 0
		for _, v := range []bool{*result != "", *failMsg != "", *cancel} {
			if v {
				n++
			}
		}
		if n > 1 || (n == 0 && len(beats) == 0) {
			return nil, errors.New("one of --result, --fail, --cancel (or --heartbeat alone)")
		}
		for _, b := range beats {
			details, err := jsonArgs(multiFlag{b})
			if err != nil {
				return nil, err
			}
			if err := c.RecordActivityHeartbeat(ctx, token, details...); err != nil {
				return nil, err
			}
		}
		switch {
		case *result != "":
			args, err := jsonArgs(multiFlag{*result})
			if err != nil {
				return nil, err
			}
			err = c.CompleteActivity(ctx, token, args[0], nil)
			if err != nil {
				return nil, err
			}
		case *failMsg != "":
			err = c.CompleteActivity(ctx, token, nil, temporal.NewApplicationError(*failMsg, *failType))
			if err != nil {
				return nil, err
			}
		case *cancel:
			if err := c.CompleteActivity(ctx, token, nil, temporal.NewCanceledError()); err != nil {
				return nil, err
			}
		}
		return map[string]any{"ok": true, "heartbeats": len(beats)}, nil
	}
}
