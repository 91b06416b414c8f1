package cache

import (
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// What the cache writes under /ac/ is a Remote Execution API ActionResult,
// as Bazel's own definitions read it (bazel-remote validates uploads
// against them), and what they write the cache reads.
func TestResultsAreRemoteExecutionActionResults(t *testing.T) {
	start := time.Unix(1_700_000_000, 123)
	ours := Result{Start: start, End: start.Add(3 * time.Second), Worker: "ci-1", Outputs: []Output{
		{Path: "target/junit.xml", Digest: Digest{Hash: digestString("a"), Size: 1}},
		{Path: "workers/ruby/lib/x.so", Digest: Digest{Hash: digestString("b"), Size: 0}, Executable: true},
	}}
	var theirs repb.ActionResult
	if err := proto.Unmarshal(ours.Marshal(), &theirs); err != nil {
		t.Fatal(err)
	}
	if len(theirs.OutputFiles) != 2 || theirs.OutputFiles[1].Path != "workers/ruby/lib/x.so" || !theirs.OutputFiles[1].IsExecutable ||
		theirs.OutputFiles[0].Digest.Hash != digestString("a") || theirs.OutputFiles[0].Digest.SizeBytes != 1 || theirs.ExitCode != 0 {
		t.Fatalf("Bazel reads %v", &theirs)
	}
	md := theirs.ExecutionMetadata
	if md.Worker != "ci-1" || !md.ExecutionStartTimestamp.AsTime().Equal(start) || md.ExecutionCompletedTimestamp.AsTime().Sub(start) != 3*time.Second {
		t.Fatalf("metadata %v", md)
	}

	theirs.OutputFiles[0].Contents = []byte("inlined") // fields the cache does not use are skipped
	theirs.ExecutionMetadata.QueuedTimestamp = timestamppb.New(start)
	b, err := proto.Marshal(&theirs)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Unmarshal(b)
	if err != nil || len(back.Outputs) != 2 || back.Outputs[1] != ours.Outputs[1] || back.Took() != 3*time.Second {
		t.Fatalf("read back %+v, %v", back, err)
	}

	for name, bad := range map[string]*repb.ActionResult{
		"a failure":         {ExitCode: 1},
		"a directory":       {OutputDirectories: []*repb.OutputDirectory{{Path: "dist"}}},
		"a malformed hash":  {OutputFiles: []*repb.OutputFile{{Path: "x", Digest: &repb.Digest{Hash: "../../etc"}}}},
		"an output no path": {OutputFiles: []*repb.OutputFile{{Digest: &repb.Digest{Hash: digestString("a")}}}},
	} {
		b, _ := proto.Marshal(bad)
		if _, err := Unmarshal(b); err == nil {
			t.Errorf("%s was accepted", name)
		}
	}
}
