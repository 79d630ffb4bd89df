import assert from "node:assert/strict";
import {
  basicAuthorization,
  findCredentials,
  parseAuthKey,
  parseChallenges,
  repositoryScope,
  tokenUrl,
} from "./auth.ts";

Deno.test("parseChallenges() reads a Bearer challenge with quoted, comma-holding values", () => {
  const [c] = parseChallenges(
    'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"',
  );
  assert.equal(c.scheme, "bearer");
  assert.deepEqual(c.params, {
    realm: "https://auth.example/token",
    service: "registry.example",
    scope: "repository:a/b:pull,push",
  });
});

Deno.test("parseChallenges() reads several schemes and unquoted values", () => {
  const cs = parseChallenges('Basic realm="x y", Bearer realm=https://t/token , service=reg');
  assert.deepEqual(cs.map((c) => c.scheme), ["basic", "bearer"]);
  assert.equal(cs[0].params.realm, "x y");
  assert.deepEqual(cs[1].params, { realm: "https://t/token", service: "reg" });
  assert.deepEqual(parseChallenges(""), []);
});

Deno.test("tokenUrl() asks the realm for the service and the challenge's scope, else ours", () => {
  const [c] = parseChallenges('Bearer realm="http://127.0.0.1:1/token",service="svc"');
  const url = tokenUrl(c, repositoryScope("team/app", ["pull"]));
  assert.equal(url.searchParams.get("service"), "svc");
  assert.deepEqual(url.searchParams.getAll("scope"), ["repository:team/app:pull"]);
  const [c2] = parseChallenges('Bearer realm="http://h/t",scope="repository:x:pull"');
  assert.deepEqual(tokenUrl(c2, "ignored").searchParams.getAll("scope"), ["repository:x:pull"]);
});

Deno.test("parseAuthKey() strips schemes and /v1/ suffixes and folds Docker Hub aliases", () => {
  assert.deepEqual(parseAuthKey("https://index.docker.io/v1/"), { host: "docker.io", path: "" });
  assert.deepEqual(parseAuthKey("registry.local:5000/team"), { host: "registry.local:5000", path: "team" });
});

Deno.test("findCredentials() picks the longest matching path, decodes auth, and matches wildcards", () => {
  const secrets = [
    { auths: { "registry.local:5000": { auth: btoa("all:one") } } },
    { auths: { "https://registry.local:5000/team": { username: "team", password: "two" } } },
    { auths: { "*.corp.example": { auth: btoa("wild:three") } } },
    { "legacy.example": { auth: btoa("old:four") } },
  ];
  assert.deepEqual(findCredentials(secrets, "registry.local:5000", "team/app"), {
    username: "team",
    password: "two",
  });
  assert.deepEqual(findCredentials(secrets, "registry.local:5000", "other/app"), {
    username: "all",
    password: "one",
  });
  assert.deepEqual(findCredentials(secrets, "r.corp.example", "x"), { username: "wild", password: "three" });
  assert.equal(findCredentials(secrets, "a.b.corp.example", "x"), undefined);
  assert.deepEqual(findCredentials(secrets, "legacy.example", "x"), { username: "old", password: "four" });
  assert.equal(findCredentials(secrets, "elsewhere", "x"), undefined);
  assert.deepEqual(
    findCredentials(
      [{ auths: { "https://index.docker.io/v1/": { auth: btoa("hub:p:w") } } }],
      "docker.io",
      "library/nginx",
    ),
    {
      username: "hub",
      password: "p:w",
    },
  );
});

Deno.test("basicAuthorization() encodes UTF-8 user names", () => {
  assert.equal(basicAuthorization({ username: "ü", password: "p" }), `Basic ${btoa("\xc3\xbc:p")}`);
});
