// Checks of the data converter scenarios (tests/features/data_converter/), and the payload
// codecs the C worker's codecs must agree with, through the official SDK's PayloadCodec
// interface:
//
//   - the base64 codec of the upstream "codec" scenario (proto.Marshal of the payload, base64,
//     encoding "my-encoding");
//   - an AES-256-GCM codec (examples/codec): proto.Marshal of the payload sealed with a 12-byte
//     random nonce in front, encoding "binary/encrypted" and the key's id in
//     "encryption-key-id" (the format of Temporal's encryption samples). Every command of the
//     driver uses it when TW_DRIVER_CODEC_KEY holds the key (64 hex digits; the id is
//     TW_DRIVER_CODEC_KEY_ID, default "default"), so tests start, signal, query, update and
//     read workflows whose payloads only the two sides can read.

package main

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

func init() {
	register(
		scenario{"data_converter/binary", "a binary/plain argument comes back as the same binary/plain payload", checkDCBinary},
		scenario{"data_converter/json", "a json/plain argument comes back as the same json/plain payload", checkDCJSON},
		scenario{"data_converter/empty", "a null activity argument is a binary/null payload without data", checkDCEmpty},
		scenario{"data_converter/failure", "failure message and stack trace travel in encoded attributes", checkDCFailure},
		scenario{"data_converter/codec", "a codec's payloads: the worker's codec and the client's agree byte for byte", checkDCCodec},
	)
}

// ---- the AES-256-GCM codec -------------------------------------------------------------------

const (
	encryptedEncoding = "binary/encrypted"
	keyIDMetadata     = "encryption-key-id"
)

type aesCodec struct {
	keyID string
	aead  cipher.AEAD
}

func newAESCodec(keyHex, keyID string) (*aesCodec, error) {
	key, err := hex.DecodeString(keyHex)
	if err != nil || len(key) != 32 {
		return nil, errors.New("the codec key must be 64 hex digits (AES-256)")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &aesCodec{keyID: keyID, aead: aead}, nil
}

func (c *aesCodec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return payloads, err
		}
		nonce := make([]byte, c.aead.NonceSize())
		if _, err := crand.Read(nonce); err != nil {
			return payloads, err
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{converter.MetadataEncoding: []byte(encryptedEncoding),
				keyIDMetadata: []byte(c.keyID)},
			Data: c.aead.Seal(nonce, nonce, plain, nil),
		}
	}
	return out, nil
}

func (c *aesCodec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.Metadata[converter.MetadataEncoding]) != encryptedEncoding {
			out[i] = p // not ours
			continue
		}
		if id := string(p.Metadata[keyIDMetadata]); id != c.keyID {
			return payloads, fmt.Errorf("payload sealed with key %q, this codec has %q", id, c.keyID)
		}
		n := c.aead.NonceSize()
		if len(p.Data) < n {
			return payloads, errors.New("encrypted payload too short")
		}
		plain, err := c.aead.Open(nil, p.Data[:n], p.Data[n:], nil)
		if err != nil {
			return payloads, fmt.Errorf("decrypting a payload: %w", err)
		}
		out[i] = &commonpb.Payload{}
		if err := proto.Unmarshal(plain, out[i]); err != nil {
			return payloads, err
		}
	}
	return out, nil
}

// withEnvCodec makes the client encrypt and decrypt payloads when TW_DRIVER_CODEC_KEY is set: on
// the gRPC connection (sdk-go's codec and failure interceptors), so every command, raw
// WorkflowService calls and history reads included, sees plain payloads while the server sees
// only sealed ones, and failures' message and stack trace travel sealed in their encoded
// attributes.
func withEnvCodec(opts *client.Options) error {
	key := os.Getenv("TW_DRIVER_CODEC_KEY")
	if key == "" {
		return nil
	}
	id := os.Getenv("TW_DRIVER_CODEC_KEY_ID")
	if id == "" {
		id = "default"
	}
	c, err := newAESCodec(key, id)
	if err != nil {
		return fmt.Errorf("TW_DRIVER_CODEC_KEY: %w", err)
	}
	// The failure interceptor first: its json/plain attributes then go through the codec's.
	failures, err := converter.NewFailureGRPCClientInterceptor(converter.NewFailureGRPCClientInterceptorOptions{
		EncodeCommonAttributes: true})
	if err != nil {
		return err
	}
	payloads, err := converter.NewPayloadCodecGRPCClientInterceptor(converter.PayloadCodecGRPCClientInterceptorOptions{
		Codecs: []converter.PayloadCodec{c}})
	if err != nil {
		return err
	}
	opts.ConnectionOptions.DialOptions = append(opts.ConnectionOptions.DialOptions,
		grpc.WithChainUnaryInterceptor(failures, payloads))
	return nil
}

// ---- the base64 codec of the upstream "codec" scenario ------------------------------------------

type base64Codec struct{}

func (base64Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		b, err := proto.Marshal(p)
		if err != nil {
			return payloads, err
		}
		out[i] = &commonpb.Payload{Metadata: map[string][]byte{converter.MetadataEncoding: []byte("my-encoding")},
			Data: []byte(base64.StdEncoding.EncodeToString(b))}
	}
	return out, nil
}

func (base64Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.Metadata[converter.MetadataEncoding]) != "my-encoding" {
			out[i] = p
			continue
		}
		b, err := base64.StdEncoding.DecodeString(string(p.Data))
		if err != nil {
			return payloads, err
		}
		out[i] = &commonpb.Payload{}
		if err := proto.Unmarshal(b, out[i]); err != nil {
			return payloads, err
		}
	}
	return out, nil
}

// ---- history helpers ------------------------------------------------------------------------

// resultAndArgument are the first payloads of |run|'s result and input, as the history has them.
func (r *frun) resultAndArgument(ctx context.Context, run client.WorkflowRun) (*commonpb.Payload, *commonpb.Payload) {
	evs := r.events(ctx, run)
	done := first(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
	started := first(evs, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
	r.require(done != nil && started != nil, "no started and completed events in %s", run.GetID())
	res := done.GetWorkflowExecutionCompletedEventAttributes().GetResult().GetPayloads()
	arg := started.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()
	r.require(len(res) == 1 && len(arg) == 1, "want one result and one argument payload, got %d and %d", len(res), len(arg))
	return res[0], arg[0]
}

type dcMessage struct {
	Spec bool `json:"spec"`
}

// ---- the checks -----------------------------------------------------------------------------

func checkDCBinary(ctx context.Context, r *frun) {
	want := []byte{0xde, 0xad, 0xbe, 0xef}
	run := r.start(ctx, "Workflow", nil, want)
	var got []byte
	r.succeeds(ctx, run, &got)
	r.require(bytes.Equal(want, got), "result: want %x, got %x", want, got)
	res, arg := r.resultAndArgument(ctx, run)
	// payload.json: {"metadata": {"encoding": "binary/plain"}, "data": 0xdeadbeef}
	expected := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("binary/plain")}, Data: want}
	r.require(proto.Equal(expected, res), "result payload: want %v, got %v", expected, res)
	r.require(proto.Equal(arg, res), "the result payload %v is not the argument payload %v", res, arg)
}

func checkDCJSON(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil, dcMessage{true})
	var got dcMessage
	r.succeeds(ctx, run, &got)
	r.equal(dcMessage{true}, got, "result")
	res, arg := r.resultAndArgument(ctx, run)
	r.equal("json/plain", string(res.Metadata["encoding"]), "result encoding")
	var inHistory dcMessage
	r.noErr(json.Unmarshal(res.Data, &inHistory), "the result payload's JSON")
	r.equal(got, inHistory, "result in the history")
	r.require(proto.Equal(arg, res), "the result payload %v is not the argument payload %v", res, arg)
}

func checkDCEmpty(ctx context.Context, r *frun) {
	run := r.start(ctx, "Workflow", nil)
	var result any
	r.succeeds(ctx, run, &result)
	r.require(result == nil, "result: want nil, got %v", result)
	ev := first(r.events(ctx, run), enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
	r.require(ev != nil, "no ActivityTaskScheduled event")
	in := ev.GetActivityTaskScheduledEventAttributes().GetInput().GetPayloads()
	r.require(len(in) == 1, "want one activity input payload, got %d", len(in))
	// payload.json: {"metadata": {"encoding": "binary/null"}}
	expected := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("binary/null")}}
	r.require(proto.Equal(expected, in[0]), "activity input: want %v, got %v", expected, in[0])
}

func checkDCFailure(ctx context.Context, r *frun) {
	c, err := client.NewClientFromExisting(r.c, client.Options{Logger: stderrLogger{},
		FailureConverter: temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
			EncodeCommonAttributes: true})})
	r.noErr(err, "a client with the failure converter")
	defer c.Close()
	o := r.startOpts()
	run, err := c.ExecuteWorkflow(ctx, o, "Workflow")
	r.noErr(err, "starting Workflow")
	r.track(run)
	err = run.Get(ctx, nil)
	r.require(err != nil, "the workflow should fail")
	var appErr *temporal.ApplicationError
	r.require(errors.As(err, &appErr) && appErr.Message() == "main error", "the client's error: want \"main error\" (decoded), got %v", err)
	ev := first(r.events(ctx, run), enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED)
	r.require(ev != nil, "no WorkflowExecutionFailed event")
	f := ev.GetWorkflowExecutionFailedEventAttributes().GetFailure()
	checkEncodedFailure(r, f, "main error")
	r.require(f.GetCause() != nil, "the failure has no cause")
	checkEncodedFailure(r, f.GetCause(), "cause error")
}

func checkEncodedFailure(r *frun, f *failurepb.Failure, message string) {
	r.equal("Encoded failure", f.GetMessage(), "failure message in the history")
	r.equal("", f.GetStackTrace(), "failure stack trace in the history")
	r.require(f.GetEncodedAttributes() != nil, "failure %q has no encoded attributes", message)
	r.equal("json/plain", string(f.GetEncodedAttributes().GetMetadata()["encoding"]), "encoded attributes' encoding")
	data := map[string]string{}
	r.noErr(json.Unmarshal(f.GetEncodedAttributes().GetData(), &data), "the encoded attributes' JSON")
	r.equal(message, data["message"], "encoded message")
	r.equal("", data["stack_trace"], "encoded stack trace")
}

func checkDCCodec(ctx context.Context, r *frun) {
	c, err := client.NewClientFromExisting(r.c, client.Options{Logger: stderrLogger{},
		DataConverter: converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), base64Codec{})})
	r.noErr(err, "a client with the base64 codec")
	defer c.Close()
	run, err := c.ExecuteWorkflow(ctx, r.startOpts(), "Workflow", dcMessage{true})
	r.noErr(err, "starting Workflow")
	r.track(run)
	var got dcMessage
	r.succeeds(ctx, run, &got)
	r.equal(dcMessage{true}, got, "result")
	res, arg := r.resultAndArgument(ctx, run)
	r.equal("my-encoding", string(res.Metadata["encoding"]), "result encoding")
	raw, err := base64.StdEncoding.DecodeString(string(res.Data))
	r.noErr(err, "the result's base64")
	inner := &commonpb.Payload{}
	r.noErr(proto.Unmarshal(raw, inner), "the inner payload")
	r.equal("json/plain", string(inner.Metadata["encoding"]), "inner encoding")
	var inHistory dcMessage
	r.noErr(json.Unmarshal(inner.Data, &inHistory), "the inner payload's JSON")
	r.equal(got, inHistory, "result in the history")
	// The worker's codec wrote the result, the client's the argument: the same bytes.
	r.require(proto.Equal(arg, res), "the result payload %v is not the argument payload %v", res, arg)
}

// historyPayloads counts the payloads of |evs| by encoding, outside headers and search
// attributes (which no codec touches), for the check that a history holds only encrypted ones.
func historyPayloads(evs []*historypb.HistoryEvent) map[string]int {
	counts := map[string]int{}
	var walk func(m protoreflect.Message)
	walk = func(m protoreflect.Message) {
		switch v := m.Interface().(type) {
		case *commonpb.Payload:
			counts[string(v.Metadata["encoding"])]++
			return
		case *commonpb.Header, *commonpb.SearchAttributes:
			return
		}
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			switch {
			case fd.Message() == nil:
			case fd.IsList():
				for i := 0; i < v.List().Len(); i++ {
					walk(v.List().Get(i).Message())
				}
			case fd.IsMap():
				if fd.MapValue().Message() != nil {
					v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
						walk(mv.Message())
						return true
					})
				}
			default:
				walk(v.Message())
			}
			return true
		})
	}
	for _, e := range evs {
		walk(e.ProtoReflect())
	}
	return counts
}

// cmdPayloadEncodings: `payload-encodings --workflow-id ID [--run-id R]` counts the payloads of
// a workflow's history by encoding (headers and search attributes aside): {"binary/encrypted": 7}.
func cmdPayloadEncodings(fs *flag.FlagSet) func(context.Context, client.Client) (any, error) {
	id := fs.String("workflow-id", "", "workflow id (required)")
	runID := fs.String("run-id", "", "run id (default: the latest run)")
	return func(ctx context.Context, c client.Client) (any, error) {
		if *id == "" {
			return nil, errors.New("--workflow-id is required")
		}
		var evs []*historypb.HistoryEvent
		it := c.GetWorkflowHistory(ctx, *id, *runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				return nil, err
			}
			evs = append(evs, e)
		}
		return historyPayloads(evs), nil
	}
}
