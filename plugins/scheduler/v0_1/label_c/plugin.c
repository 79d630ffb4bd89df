/*
 * The C example as written for `skiff:scheduler@0.1.0` (filter and score, every node lowered on
 * every call), kept to prove that 0.1.0 plugins still load and schedule under a 0.2.0 host
 * (tests build it against plugins/scheduler/v0_1/wit). New plugins: examples/label_c (0.2.0).
 * Built by plugins/host/build.ts: clang --target=wasm32 -nostdlib → jco embed → jco new.
 *
 * filter: a node labelled skiff.dev/c-reject=true is UnschedulableAndUnresolvable.
 * score:  100 for a node labelled skiff.dev/c-prefer (any value), else 0.
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

typedef struct { pod_view pod; list nodes; } args;
typedef struct { u8 code; str reason; } filter_result;
typedef struct { u8 tag; union { list ok; struct { u8 tag; str msg; } err; } v; } result_list;

_Static_assert(__builtin_offsetof(pod_view, milli_cpu) == 40, "pod-view layout");
_Static_assert(__builtin_offsetof(pod_view, runtime_class_tag) == 68, "pod-view layout");
_Static_assert(sizeof(pod_view) == 80, "pod-view size");
_Static_assert(__builtin_offsetof(node_view, alloc_cpu) == 32, "node-view layout");
_Static_assert(__builtin_offsetof(node_view, images) == 68, "node-view layout");
_Static_assert(sizeof(node_view) == 80, "node-view size");
_Static_assert(__builtin_offsetof(args, nodes) == 80, "params layout");
_Static_assert(sizeof(filter_result) == 12, "filter-result size");
_Static_assert(sizeof(result_list) == 16, "result size");

/* A bump allocator, reset after each call (post-return). */
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

static result_list ret;
static const char REJECT[] = "node is labelled skiff.dev/c-reject=true (C plugin)";

__attribute__((export_name("skiff:scheduler/scheduling@0.1.0#configure")))
result_list *configure(const char *settings, u32 len) {
  (void)settings; (void)len;
  ret.tag = 0;
  return &ret;
}

__attribute__((export_name("skiff:scheduler/scheduling@0.1.0#filter")))
result_list *filter(args *a) {
  const node_view *nodes = a->nodes.ptr;
  filter_result *out = cabi_realloc(0, 0, 4, a->nodes.len * sizeof(filter_result));
  for (u32 i = 0; i < a->nodes.len; i++) {
    const label *l = find(nodes[i].labels, "skiff.dev/c-reject");
    int reject = l && eq(l->value, "true");
    out[i].code = reject ? 2 : 0;
    out[i].reason.ptr = reject ? REJECT : "";
    out[i].reason.len = reject ? sizeof(REJECT) - 1 : 0;
  }
  ret.tag = 0;
  ret.v.ok.ptr = out;
  ret.v.ok.len = a->nodes.len;
  return &ret;
}

__attribute__((export_name("skiff:scheduler/scheduling@0.1.0#score")))
result_list *score(args *a) {
  const node_view *nodes = a->nodes.ptr;
  u32 *out = cabi_realloc(0, 0, 4, a->nodes.len * 4);
  for (u32 i = 0; i < a->nodes.len; i++) out[i] = find(nodes[i].labels, "skiff.dev/c-prefer") ? 100 : 0;
  ret.tag = 0;
  ret.v.ok.ptr = out;
  ret.v.ok.len = a->nodes.len;
  return &ret;
}

__attribute__((export_name("cabi_post_skiff:scheduler/scheduling@0.1.0#filter")))
void post_filter(result_list *r) { (void)r; reset(); }

__attribute__((export_name("cabi_post_skiff:scheduler/scheduling@0.1.0#score")))
void post_score(result_list *r) { (void)r; reset(); }

__attribute__((export_name("cabi_post_skiff:scheduler/scheduling@0.1.0#configure")))
void post_configure(result_list *r) { (void)r; reset(); }
