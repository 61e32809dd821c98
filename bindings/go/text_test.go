package libclip_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"libclip.dev/go/libclip"
)

func openText(t testing.TB, c modelCase, opts libclip.Options) *libclip.TextEncoder {
	t.Helper()
	opts.VocabPath = c.vocab
	enc, err := libclip.OpenTextEncoder(c.path, &opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { enc.Close() })
	return enc
}

func TestTextEncoderInfo(t *testing.T) {
	dir, _ := fixtures(t)
	for _, c := range modelCases(dir) {
		enc := openText(t, c, libclip.Options{})
		if enc.Dim() != 32 || enc.ContextLength() != 77 {
			t.Errorf("%s: Dim %d, ContextLength %d, want 32, 77", c.name, enc.Dim(), enc.ContextLength())
		}
		img := openImage(t, c.path, nil)
		if enc.LogitScale() != img.LogitScale() {
			t.Errorf("%s: text LogitScale %v, image %v", c.name, enc.LogitScale(), img.LogitScale())
		}
	}
}

func TestTokenizeGolden(t *testing.T) {
	dir, m := fixtures(t)
	golden := readI32(t, filepath.Join(dir, m.Texts.TokensFile))
	for _, c := range modelCases(dir)[:2] {
		enc := openText(t, c, libclip.Options{})
		n := enc.ContextLength()
		for i, text := range m.Texts.List {
			got, err := enc.Tokenize(text)
			if err != nil {
				t.Fatalf("%s: Tokenize(%q): %v", c.name, text, err)
			}
			want := golden[i*n : (i+1)*n]
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: Tokenize(%q) = %v, want %v", c.name, text, got, want)
			}
		}
	}
}

func TestTokenizeCases(t *testing.T) {
	dir, _ := fixtures(t)
	f, err := os.Open(filepath.Join(dir, "tokenizer", "cases.jsonl"))
	if err != nil {
		t.Skipf("no tokenizer cases: %v", err)
	}
	defer f.Close()
	enc := openText(t, modelCases(dir)[1], libclip.Options{}) // open_clip layout, VocabPath
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	count := 0
	for sc.Scan() {
		var c struct {
			Text   string  `json:"text"`
			Tokens []int32 `json:"tokens"`
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		got, err := enc.Tokenize(c.Text)
		if err != nil {
			t.Fatalf("Tokenize(%q): %v", c.Text, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.Tokens) {
			t.Errorf("Tokenize(%q) = %v, want %v", c.Text, got, c.Tokens)
		}
		count++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if count == 0 {
		t.Fatal("no cases read")
	}
}

// EncodeBatch is one lclip_text_encode_batch_ex call without callbacks,
// which is lclip_text_encode_batch, the call clip-embed makes.
func TestEncodeBatchMatchesCAPI(t *testing.T) {
	dir, m := fixtures(t)
	clipEmbed(t)
	texts := m.Texts.List
	for _, text := range texts {
		if strings.HasPrefix(text, "--") {
			t.Fatalf("text %q would be taken for a clip-embed option", text)
		}
	}
	for _, c := range modelCases(dir) {
		golden := readF32(t, filepath.Join(dir, "golden", c.model, "text_embeds.f32"))
		cli := textModelDir(t, c)
		for _, raw := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/raw=%v", c.name, raw), func(t *testing.T) {
				enc := openText(t, c, libclip.Options{RawOutput: raw})
				got, err := enc.EncodeBatch(texts)
				if err != nil {
					t.Fatal(err)
				}
				want := cliRows(t, cli, raw, enc.Dim(), "--text", texts...)
				if len(got) != len(texts) {
					t.Fatalf("%d rows, want %d", len(got), len(texts))
				}
				d := enc.Dim()
				for i := range got {
					sameBits(t, fmt.Sprintf("text %d %q", i, texts[i]), got[i], want[i])
					ref := golden[i*d : (i+1)*d]
					if !raw {
						ref = normalized(ref)
					}
					closeTo(t, fmt.Sprintf("text %d vs reference", i), got[i], ref)
				}
			})
		}
	}
}

func TestEncodeMatchesCAPI(t *testing.T) {
	dir, m := fixtures(t)
	clipEmbed(t)
	for _, c := range modelCases(dir)[:2] {
		enc := openText(t, c, libclip.Options{})
		cli := textModelDir(t, c)
		for _, text := range []string{m.Texts.List[0], "", "it\u2019s a cat"} {
			got, err := enc.Encode(text)
			if err != nil {
				t.Fatal(err)
			}
			want := cliRows(t, cli, false, enc.Dim(), "--text", text)[0]
			sameBits(t, fmt.Sprintf("%s Encode(%q)", c.name, text), got, want)
		}
	}
}

func TestEncodeTokens(t *testing.T) {
	dir, m := fixtures(t)
	c := modelCases(dir)[0]
	enc := openText(t, c, libclip.Options{RawOutput: true})
	golden := readI32(t, filepath.Join(dir, m.Texts.TokensFile))
	n := enc.ContextLength()
	tokens := make([][]int32, len(m.Texts.List))
	for i := range tokens {
		tokens[i] = golden[i*n : (i+1)*n]
	}
	got, err := enc.EncodeTokens(tokens)
	if err != nil {
		t.Fatal(err)
	}
	want, err := enc.EncodeBatch(m.Texts.List)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		sameBits(t, fmt.Sprintf("EncodeTokens row %d", i), got[i], want[i])
	}
	if _, err := enc.EncodeTokens([][]int32{{49406, 49407}}); !errors.Is(err, libclip.ErrInvalidArgument) {
		t.Errorf("EncodeTokens of a short row: %v, want ErrInvalidArgument", err)
	}
	bad := make([]int32, n)
	bad[0], bad[1] = 49406, 1<<30
	if _, err := enc.EncodeTokens([][]int32{bad}); !errors.Is(err, libclip.ErrInvalidArgument) {
		t.Errorf("EncodeTokens of an id outside the vocabulary: %v, want ErrInvalidArgument", err)
	}
}

// Without a vocabulary the open_clip layout's text encoder only encodes
// tokens.
func TestTextEncoderWithoutVocabulary(t *testing.T) {
	dir, _ := fixtures(t)
	enc, err := libclip.OpenTextEncoder(smallVocabModel(t, dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	if !strings.HasSuffix(enc.Describe(), " vocab=none") {
		t.Errorf("Describe without vocabulary: %q", enc.Describe())
	}
	if _, err := enc.Tokenize("a cat"); !errors.Is(err, libclip.ErrUnsupported) {
		t.Errorf("Tokenize without vocabulary: %v, want ErrUnsupported", err)
	}
	if _, err := enc.Encode("a cat"); !errors.Is(err, libclip.ErrUnsupported) {
		t.Errorf("Encode without vocabulary: %v, want ErrUnsupported", err)
	}
	ids := make([]int32, enc.ContextLength())
	copy(ids, []int32{5, 999, 17, 3})
	if _, err := enc.EncodeTokens([][]int32{ids}); err != nil {
		t.Errorf("EncodeTokens without vocabulary: %v", err)
	}
}

// open_clip weights without a tokenizer file use libclip's own copy of
// OpenAI's vocabulary: the ids and embeddings of the fixtures' copy.
func TestTextEncoderDefaultVocabulary(t *testing.T) {
	dir, m := fixtures(t)
	c := modelCases(dir)[1]
	def, err := libclip.OpenTextEncoder(c.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer def.Close()
	if !strings.Contains(def.Describe(), " vocab=builtin:") {
		t.Errorf("Describe: %q, want vocab=builtin:", def.Describe())
	}
	given := openText(t, c, libclip.Options{})
	a, err := def.Encode(m.Texts.List[1])
	if err != nil {
		t.Fatal(err)
	}
	b, err := given.Encode(m.Texts.List[1])
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("embedding %d: %v with the default vocabulary, %v with the fixtures'", i, a[i], b[i])
		}
	}
}

func TestTruncation(t *testing.T) {
	dir, _ := fixtures(t)
	c := modelCases(dir)[0]
	long := strings.Repeat("cat ", 200)
	enc := openText(t, c, libclip.Options{})
	ids, err := enc.Tokenize(long)
	if err != nil {
		t.Fatal(err)
	}
	if ids[len(ids)-1] != 49407 {
		t.Errorf("truncated text ends with %d, want the end token", ids[len(ids)-1])
	}
	strict := openText(t, c, libclip.Options{NoTruncate: true, MaxTextBytes: 1000})
	if _, err := strict.Tokenize(long); !errors.Is(err, libclip.ErrTooLarge) {
		t.Errorf("NoTruncate: %v, want ErrTooLarge", err)
	}
	if _, err := strict.Encode(strings.Repeat("a", 1001)); !errors.Is(err, libclip.ErrTooLarge) {
		t.Errorf("MaxTextBytes: %v, want ErrTooLarge", err)
	}
	if _, err := enc.Encode("bad \xff utf-8"); !errors.Is(err, libclip.ErrInvalidArgument) {
		t.Errorf("invalid UTF-8: %v, want ErrInvalidArgument", err)
	}
	rows, err := enc.EncodeBatch(nil)
	if err != nil || len(rows) != 0 {
		t.Errorf("EncodeBatch(nil) = %v, %v; want no rows", rows, err)
	}
}
