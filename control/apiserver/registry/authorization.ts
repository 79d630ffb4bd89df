/**
 * authorization.k8s.io/v1: the create-only access reviews. They are never stored: their strategies
 * (control/apiserver/rbac/reviews.ts, registered with `server.setStrategy`) answer from the
 * authorizer chain.
 * @module
 */
import type { ResourceDef } from "../../api/resource.ts";
import { defaultTable } from "./table.ts";

const review = (kind: string, plural: string, namespaced: boolean, schema: string): ResourceDef => ({
  group: "authorization.k8s.io",
  version: "v1",
  kind,
  listKind: `${kind}List`,
  plural,
  singular: plural.replace(/s$/, ""),
  namespaced,
  verbs: ["create"],
  schema,
  table: defaultTable,
});

/**
 * LocalSubjectAccessReview (namespaced) is not served yet: the schema and protobuf tables
 * (control/api/schema/types.json, control/apiserver/protobuf/proto_schema.json) lack its type.
 * Its strategy is ready (rbac/reviews.ts); serving it is this one entry.
 */
export const localSubjectAccessReviews: ResourceDef = review(
  "LocalSubjectAccessReview",
  "localsubjectaccessreviews",
  true,
  "V1LocalSubjectAccessReview",
);

/** The access review kinds served. */
export const authorizationResources: ResourceDef[] = [
  review("SelfSubjectAccessReview", "selfsubjectaccessreviews", false, "V1SelfSubjectAccessReview"),
  review("SelfSubjectRulesReview", "selfsubjectrulesreviews", false, "V1SelfSubjectRulesReview"),
  review("SubjectAccessReview", "subjectaccessreviews", false, "V1SubjectAccessReview"),
];
