package viewer_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPlatformIsTheOnlyBypass fails when hand-written code spells the privacy
// bypass another way than viewer.Platform, whose doc lists the callers.
func TestPlatformIsTheOnlyBypass(t *testing.T) {
	t.Parallel()
	var offenders []string
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch filepath.ToSlash(path) {
			case "../.git", "../data", "../ent/privacy":
				return filepath.SkipDir // ent/privacy is generated: it defines the bypass
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || filepath.ToSlash(path) == "../viewer/platform.go" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), "Decision"+"Context(") {
			offenders = append(offenders, path)
		}
		return nil
	})
	require.NoError(t, err)
	require.Empty(t, offenders, "use viewer.Platform (and add the caller to its doc) instead of privacy.DecisionContext")
}
