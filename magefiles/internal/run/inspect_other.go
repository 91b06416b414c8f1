//go:build !linux && !darwin

package run

// unknownTable is the inspector where this package has none (Windows):
// nothing about other processes can be learnt.
type unknownTable struct{}

func newInspector() inspector { return unknownTable{} }

func (unknownTable) info(int) (procInfo, error)           { return procInfo{}, errUnknown }
func (unknownTable) group(int) ([]procInfo, error)        { return nil, errUnknown }
func (unknownTable) cwdUsers(string) ([]int, error)       { return nil, errUnknown }
func (unknownTable) listener(int) (int, string, error)    { return 0, "", errUnknown }
func (unknownTable) argv(int) ([]string, error)           { return nil, errUnknown }
func (unknownTable) executable(int) (string, bool, error) { return "", false, errUnknown }
