package libclip_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"libclip.dev/go/libclip"
)

// Eight goroutines sharing one image and one text encoder get exactly what
// serial calls get.
func TestConcurrentEqualsSerial(t *testing.T) {
	dir, m := fixtures(t)
	c := modelCases(dir)[1]
	img := openImage(t, c.path, nil)
	txt := openText(t, c, libclip.Options{})
	paths := imagePaths(dir, m)
	texts := m.Texts.List
	pngImage := decodePNG(t, filepath.Join(dir, "images", "photo_astronaut_512x512.png"))

	// One job is one call; run returns its result as one flat slice.
	type job struct {
		name string
		run  func() ([]float32, error)
	}
	flatten := func(rows [][]float32, err error) ([]float32, error) {
		var out []float32
		for _, r := range rows {
			out = append(out, r...)
		}
		return out, err
	}
	var jobs []job
	for i := range paths {
		p := paths[i]
		jobs = append(jobs, job{"EncodeFile " + p, func() ([]float32, error) { return img.EncodeFile(p) }})
	}
	for i := range texts {
		s := texts[i]
		jobs = append(jobs, job{fmt.Sprintf("Encode %q", s), func() ([]float32, error) { return txt.Encode(s) }})
		jobs = append(jobs, job{fmt.Sprintf("Tokenize %q", s), func() ([]float32, error) {
			ids, err := txt.Tokenize(s)
			out := make([]float32, len(ids))
			for j, id := range ids {
				out[j] = float32(id)
			}
			return out, err
		}})
	}
	jobs = append(jobs,
		job{"EncodeFiles", func() ([]float32, error) { return flatten(img.EncodeFiles(paths)) }},
		job{"EncodeBatch", func() ([]float32, error) { return flatten(txt.EncodeBatch(texts)) }},
		job{"EncodeImage", func() ([]float32, error) { return img.EncodeImage(pngImage) }})

	want := make([][]float32, len(jobs))
	for i, j := range jobs {
		var err error
		if want[i], err = j.run(); err != nil {
			t.Fatalf("%s: %v", j.name, err)
		}
	}

	const goroutines = 8
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := range jobs {
				i := (k + g*len(jobs)/goroutines) % len(jobs) // each goroutine starts elsewhere
				got, err := jobs[i].run()
				if err != nil {
					errs <- fmt.Errorf("goroutine %d, %s: %v", g, jobs[i].name, err)
					return
				}
				for d := range got {
					if got[d] != want[i][d] {
						errs <- fmt.Errorf("goroutine %d, %s: value %d is %v, serially %v", g, jobs[i].name, d, got[d], want[i][d])
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Close while other goroutines are encoding: every call either succeeds with
// the right result or returns ErrClosed, and nothing crashes.
func TestCloseDuringUse(t *testing.T) {
	dir, _ := fixtures(t)
	c := modelCases(dir)[0]
	path := filepath.Join(dir, "images", "synth_tiny_17x33.png")
	for round := 0; round < 3; round++ {
		img, err := libclip.OpenImageEncoder(c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		txt, err := libclip.OpenTextEncoder(c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantImg, err := img.EncodeFile(path)
		if err != nil {
			t.Fatal(err)
		}
		wantTxt, err := txt.Encode("a photo of a cat")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		started := make(chan struct{}, 8)
		errs := make(chan error, 8)
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for n := 0; ; n++ {
					var got, want []float32
					var err error
					if g%2 == 0 {
						got, err = img.EncodeFile(path)
						want = wantImg
					} else {
						got, err = txt.Encode("a photo of a cat")
						want = wantTxt
					}
					if n == 0 {
						started <- struct{}{}
					}
					if errors.Is(err, libclip.ErrClosed) {
						return
					}
					if err != nil {
						errs <- err
						return
					}
					for d := range got {
						if got[d] != want[d] {
							errs <- fmt.Errorf("goroutine %d: wrong value", g)
							return
						}
					}
				}
			}(g)
		}
		for g := 0; g < 8; g++ {
			<-started
		}
		var closers sync.WaitGroup
		for k := 0; k < 2; k++ { // two concurrent Close calls on each
			closers.Add(1)
			go func() {
				defer closers.Done()
				img.Close()
				txt.Close()
			}()
		}
		closers.Wait()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
}

// Each failing call reports its own detail message, although the C library
// keeps the message per OS thread and goroutines move between threads.
func TestConcurrentErrorMessages(t *testing.T) {
	dir, _ := fixtures(t)
	img := openImage(t, modelCases(dir)[0].path, nil)
	good := filepath.Join(dir, "images", "synth_tiny_17x33.png")
	tmp := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for n := 0; n < 25; n++ {
				missing := filepath.Join(tmp, fmt.Sprintf("missing-%d-%d.png", g, n))
				_, err := img.EncodeFile(missing)
				var e *libclip.Error
				if !errors.As(err, &e) || e.Status != libclip.ErrIO || !strings.Contains(e.Message, missing) {
					errs <- fmt.Errorf("goroutine %d: %v does not name %s", g, err, missing)
					return
				}
				if _, err := img.EncodeFile(good); err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
