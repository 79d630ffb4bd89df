/**
 * authentication.k8s.io/v1: the create-only kinds TokenReview and SelfSubjectReview. They are
 * never stored: the API server serves their CREATE through strategies installed with the
 * cluster's authentication (control/apiserver/auth/reviews.ts). TokenRequest has no entry of its
 * own: it is the `token` subresource of ServiceAccounts (and, in Skiff, of Nodes).
 * @module
 */
import type { ResourceDef } from "../../api/resource.ts";
import { defaultTable } from "./table.ts";

/** TokenReviews (`kubectl create -f tokenreview.yaml`; webhook token authenticators). */
export const tokenReviews: ResourceDef = {
  group: "authentication.k8s.io",
  version: "v1",
  kind: "TokenReview",
  listKind: "TokenReviewList",
  plural: "tokenreviews",
  singular: "tokenreview",
  namespaced: false,
  verbs: ["create"],
  schema: "V1TokenReview",
  table: defaultTable,
};

/** SelfSubjectReviews (`kubectl auth whoami`). */
export const selfSubjectReviews: ResourceDef = {
  group: "authentication.k8s.io",
  version: "v1",
  kind: "SelfSubjectReview",
  listKind: "SelfSubjectReviewList",
  plural: "selfsubjectreviews",
  singular: "selfsubjectreview",
  namespaced: false,
  verbs: ["create"],
  schema: "V1SelfSubjectReview",
  table: defaultTable,
};

/** The authentication.k8s.io resources. */
export const authenticationResources: ResourceDef[] = [tokenReviews, selfSubjectReviews];
