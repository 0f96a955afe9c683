package control

import (
	"context"
	"fmt"

	"github.com/vigilhq/vigil/internal/vigil"
)

// DataKeyRewrapper lists and rewraps data keys.
type DataKeyRewrapper interface {
	DataKeys(ctx context.Context) ([]vigil.DataKey, error)
	RewrapDataKeys(ctx context.Context, keys []vigil.DataKey) error
}

// RewrapDataKeys unwraps every data key with from and wraps it with to, in
// one transaction; the data they protect is not touched. It fails, changing
// nothing, when from cannot unwrap every key.
func RewrapDataKeys(ctx context.Context, store DataKeyRewrapper, from, to KEK) (int, error) {
	keys, err := store.DataKeys(ctx)
	if err != nil {
		return 0, err
	}
	out := make([]vigil.DataKey, 0, len(keys))
	for _, k := range keys {
		raw, err := from.Unwrap(k.Wrapped, dataKeyAAD)
		if err != nil {
			return 0, fmt.Errorf("data key %d (wrapped by %s) does not unwrap with %s: %w", k.ID, k.KEKID, from.ID(), err)
		}
		w, err := to.Wrap(raw, dataKeyAAD)
		clear(raw)
		if err != nil {
			return 0, fmt.Errorf("wrap data key %d: %w", k.ID, err)
		}
		out = append(out, vigil.DataKey{ID: k.ID, KEKID: to.ID(), Wrapped: w})
	}
	if err := store.RewrapDataKeys(ctx, out); err != nil {
		return 0, err
	}
	return len(out), nil
}
