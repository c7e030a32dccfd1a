export { isProjectKernel, projectKernels, registerProjectKernels } from "./register.js";
