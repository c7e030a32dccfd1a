// Generated protobuf-es contracts (regenerate with `npm run contracts:gen`; never edit gen/ by hand).
export * from "./gen/synthmri/common/v1/domain_pb.js";
export * from "./gen/synthmri/common/v1/file_pb.js";
export * from "./gen/synthmri/common/v1/job_pb.js";
export * from "./gen/synthmri/common/v1/job_service_pb.js";
export * from "./gen/synthmri/common/v1/object_pb.js";
export * from "./gen/synthmri/common/v1/provenance_pb.js";
export * from "./gen/synthmri/common/v1/service_info_pb.js";
export * from "./gen/synthmri/common/v1/tensor_pb.js";
export * from "./gen/synthmri/console/v1/console_pb.js";
export * from "./gen/synthmri/evaluator/v1/evaluator_pb.js";
export * from "./gen/synthmri/generator/v1/generator_pb.js";
export * from "./gen/synthmri/generator/v1/partner_pb.js";
export * from "./gen/synthmri/generator/v1/partner_admin_pb.js";
export * from "./gen/synthmri/ingest/v1/ingest_pb.js";
export * from "./gen/synthmri/segmenter/v1/segmenter_pb.js";
export * from "./gen/synthmri/testing/v1/testing_pb.js";

import { file_synthmri_common_v1_job_service } from "./gen/synthmri/common/v1/job_service_pb.js";
import { file_synthmri_common_v1_service_info } from "./gen/synthmri/common/v1/service_info_pb.js";
import { file_synthmri_evaluator_v1_evaluator } from "./gen/synthmri/evaluator/v1/evaluator_pb.js";
import { file_synthmri_generator_v1_generator } from "./gen/synthmri/generator/v1/generator_pb.js";
import { file_synthmri_generator_v1_partner } from "./gen/synthmri/generator/v1/partner_pb.js";
import { file_synthmri_generator_v1_partner_admin } from "./gen/synthmri/generator/v1/partner_admin_pb.js";
import { file_synthmri_ingest_v1_ingest } from "./gen/synthmri/ingest/v1/ingest_pb.js";
import { file_synthmri_segmenter_v1_segmenter } from "./gen/synthmri/segmenter/v1/segmenter_pb.js";
import { file_synthmri_testing_v1_testing } from "./gen/synthmri/testing/v1/testing_pb.js";

/** Every file that declares a service (their imports reach the rest); used to build reflection data. */
export const serviceFiles = [
  file_synthmri_common_v1_job_service,
  file_synthmri_common_v1_service_info,
  file_synthmri_ingest_v1_ingest,
  file_synthmri_generator_v1_generator,
  file_synthmri_generator_v1_partner,
  file_synthmri_generator_v1_partner_admin,
  file_synthmri_segmenter_v1_segmenter,
  file_synthmri_evaluator_v1_evaluator,
  file_synthmri_testing_v1_testing,
] as const;
