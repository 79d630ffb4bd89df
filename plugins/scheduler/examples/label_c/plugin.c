/*
 * A scheduler plugin in C (no libc, no WASI): the `skiff:scheduler@0.2.0` world's canonical ABI
 * written by hand, to prove that components from other toolchains load like the TypeScript ones.
 * Built by plugins/host/build.ts: clang --target=wasm32 -nostdlib → jco embed → jco new.
 *
 * filter: a node labelled skiff.dev/c-reject=true is UnschedulableAndUnresolvable.
 * score:  100 for a node labelled skiff.dev/c-prefer (any value), else 0.
 *
 * The guest keeps what it needs of each node between cycles (two bits per handle, decided when
 * the host puts the node), so a cycle reads only the pod and the handles.
 */
typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;

typedef struct { const char *ptr; u32 len; } str;
typedef struct { void *ptr; u32 len; } list;
typedef struct { str key, value; } label;

/* Records laid out as the canonical ABI lays them out (checked below). */
typedef struct {
  str ns, name, uid;
  list labels, node_selector;
  u64 milli_cpu, memory;
  int priority;
  list images;
  u8 runtime_class_tag;
  str runtime_class;
} pod_view;

typedef struct {
  str name;
  list labels;
  u8 unschedulable;
  list taints;
  u64 alloc_cpu, alloc_mem, req_cpu, req_mem;
  u32 pod_count;
  list images;
} node_view;

typedef struct { u32 id; node_view node; } node_entry;
typedef struct { pod_view pod; list nodes; u8 phases; } cycle_args;
enum { PHASE_FILTER = 1, PHASE_SCORE = 2 };
enum { CODE_SUCCESS = 0, CODE_UNSCHEDULABLE = 1, CODE_UNRESOLVABLE = 2 };
typedef struct { u32 index; u8 code; str reason; } rejection;
typedef struct { list rejected, scores; } verdict;
typedef struct { u8 tag; union { verdict ok; struct { u8 tag; str msg; } err; } v; } result_verdict;
typedef struct { u8 tag; union { struct { u8 tag; str msg; } err; } v; } result_unit;

_Static_assert(__builtin_offsetof(pod_view, milli_cpu) == 40, "pod-view layout");
_Static_assert(__builtin_offsetof(pod_view, runtime_class_tag) == 68, "pod-view layout");
_Static_assert(sizeof(pod_view) == 80, "pod-view size");
_Static_assert(__builtin_offsetof(node_view, alloc_cpu) == 32, "node-view layout");
_Static_assert(__builtin_offsetof(node_view, images) == 68, "node-view layout");
_Static_assert(sizeof(node_view) == 80, "node-view size");
_Static_assert(__builtin_offsetof(node_entry, node) == 8, "node-entry layout");
_Static_assert(sizeof(node_entry) == 88, "node-entry size");
_Static_assert(__builtin_offsetof(cycle_args, nodes) == 80, "params layout");
_Static_assert(__builtin_offsetof(cycle_args, phases) == 88, "params layout");
_Static_assert(sizeof(rejection) == 16, "rejection size");
_Static_assert(__builtin_offsetof(result_verdict, v) == 4, "result layout");
_Static_assert(sizeof(result_verdict) == 20, "result size");

/* A bump allocator, reset after each call (post-return, or at the end of calls without results). */
extern u8 __heap_base;
static u32 top;

static void reset(void) { top = (u32)&__heap_base; }

__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *old, u32 old_size, u32 align, u32 new_size) {
  if (!top) reset();
  u32 p = (top + align - 1) & ~(align - 1);
  u32 end = p + new_size;
  u32 have = (u32)__builtin_wasm_memory_size(0) * 65536u;
  if (end > have && __builtin_wasm_memory_grow(0, (end - have + 65535u) / 65536u) == (__SIZE_TYPE__)-1) __builtin_trap();
  top = end;
  for (u32 i = 0; old && i < old_size && i < new_size; i++) ((u8 *)p)[i] = ((u8 *)old)[i];
  return (void *)p;
}

static int eq(str s, const char *lit) {
  u32 i = 0;
  for (; lit[i]; i++) if (i >= s.len || s.ptr[i] != lit[i]) return 0;
  return i == s.len;
}

static const label *find(list labels, const char *key) {
  const label *l = labels.ptr;
  for (u32 i = 0; i < labels.len; i++) if (eq(l[i].key, key)) return &l[i];
  return 0;
}

/* What the plugin keeps per node handle: held, rejected, preferred. The host keeps handles dense. */
#define MAX_NODES 65536
enum { HELD = 1, REJECT = 2, PREFER = 4 };
static u8 nodes[MAX_NODES];

static result_unit unit;
static result_verdict ret;
static const char REJECT_REASON[] = "node is labelled skiff.dev/c-reject=true (C plugin)";

__attribute__((export_name("skiff:scheduler/scheduling@0.2.0#configure")))
result_unit *configure(const char *settings, u32 len) {
  (void)settings; (void)len;
  unit.tag = 0;
  return &unit;
}

__attribute__((export_name("skiff:scheduler/scheduling@0.2.0#put-nodes")))
void put_nodes(const node_entry *entries, u32 len) {
  for (u32 i = 0; i < len; i++) {
    u32 id = entries[i].id;
    if (id >= MAX_NODES) __builtin_trap();
    const label *l = find(entries[i].node.labels, "skiff.dev/c-reject");
    nodes[id] = HELD | (l && eq(l->value, "true") ? REJECT : 0) |
      (find(entries[i].node.labels, "skiff.dev/c-prefer") ? PREFER : 0);
  }
  reset();
}

__attribute__((export_name("skiff:scheduler/scheduling@0.2.0#remove-nodes")))
void remove_nodes(const u32 *ids, u32 len) {
  for (u32 i = 0; i < len; i++) if (ids[i] < MAX_NODES) nodes[ids[i]] = 0;
  reset();
}

__attribute__((export_name("skiff:scheduler/scheduling@0.2.0#filter-and-score")))
result_verdict *filter_and_score(const cycle_args *a) {
  const u32 *ids = a->nodes.ptr;
  u32 n = a->nodes.len;
  rejection *rejected = cabi_realloc(0, 0, 4, n * sizeof(rejection));
  u32 *scores = cabi_realloc(0, 0, 4, n * 4);
  u32 nrej = 0;
  for (u32 i = 0; i < n; i++) {
    u8 f = ids[i] < MAX_NODES ? nodes[ids[i]] : 0;
    if (!(f & HELD)) __builtin_trap(); /* the host names only nodes it put */
    if ((a->phases & PHASE_FILTER) && (f & REJECT)) {
      rejected[nrej].index = i;
      rejected[nrej].code = CODE_UNRESOLVABLE;
      rejected[nrej].reason.ptr = REJECT_REASON;
      rejected[nrej].reason.len = sizeof(REJECT_REASON) - 1;
      nrej++;
    }
    scores[i] = (f & PREFER) ? 100 : 0;
  }
  ret.tag = 0;
  ret.v.ok.rejected.ptr = rejected;
  ret.v.ok.rejected.len = nrej;
  ret.v.ok.scores.ptr = scores;
  ret.v.ok.scores.len = (a->phases & PHASE_SCORE) ? n : 0;
  return &ret;
}

__attribute__((export_name("cabi_post_skiff:scheduler/scheduling@0.2.0#filter-and-score")))
void post_filter_and_score(result_verdict *r) { (void)r; reset(); }

__attribute__((export_name("cabi_post_skiff:scheduler/scheduling@0.2.0#configure")))
void post_configure(result_unit *r) { (void)r; reset(); }
